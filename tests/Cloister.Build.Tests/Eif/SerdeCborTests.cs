using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class SerdeCborTests
{
    private static readonly Dictionary<string, string> Vectors = File.ReadAllLines(TestVectors.Published("image-format-serde-cbor-vectors.txt"))
        .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.StartsWith('#'))
        .Select(line => line.Split('=', 2))
        .ToDictionary(parts => parts[0], parts => parts[1]);

    [Fact]
    public void PcrInfo_is_encoded_byte_for_byte_as_serde_cbor()
    {
        var value = Enumerable.Range(0, 48).Select(i => (byte)i).ToArray();

        Assert.Equal(Vectors["PCR_INFO_0_8_0"], Convert.ToHexStringLower(SerdeCbor.EncodePcrInfo(0, value)));
    }

    [Fact]
    public void Signature_section_is_encoded_byte_for_byte_as_serde_cbor()
    {
        var pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"u8.ToArray();
        byte[] signature = [0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x40, 0x40];

        Assert.Equal(Vectors["SIGNATURE_0_8_0"], Convert.ToHexStringLower(SerdeCbor.EncodeSignatureSection([(pem, signature)])));
    }

    [Fact]
    public void Published_vectors_decode_back_to_their_values()
    {
        var (index, value) = SerdeCbor.DecodePcrInfo(TestVectors.Hex(Vectors["PCR_INFO_0_8_0"]));
        var signatures = SerdeCbor.DecodeSignatureSection(TestVectors.Hex(Vectors["SIGNATURE_0_8_0"]));

        Assert.Equal(0, index);
        Assert.Equal(Enumerable.Range(0, 48).Select(i => (byte)i), value);
        Assert.Single(signatures);
        Assert.Equal("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"u8.ToArray(), signatures[0].CertificatePem);
        Assert.Equal(TestVectors.Hex("d28444a1013822a04040"), signatures[0].CoseSign1);
    }

    [Fact]
    public void Signed_fixture_payload_is_pcrinfo_of_its_pcr0()
    {
        var expected = TestVectors.Expected.GetProperty("signed");
        var pcr0 = TestVectors.Hex(expected.GetProperty("pcrs").GetProperty("PCR0").GetString()!);

        Assert.Equal(expected.GetProperty("pcrinfo_payload_hex").GetString(), Convert.ToHexStringLower(SerdeCbor.EncodePcrInfo(0, pcr0)));
    }

    [Fact]
    public void Byte_strings_are_accepted_where_serde_writes_arrays()
    {
        var (index, value) = SerdeCbor.DecodePcrInfo(TestVectors.Hex("a26e72656769737465725f696e646578026e72656769737465725f76616c75654301020a"));

        Assert.Equal(2, index);
        Assert.Equal([1, 2, 10], value);
    }

    [Fact]
    public void Array_elements_above_255_are_refused()
    {
        Assert.Throws<System.Formats.Cbor.CborContentException>(() =>
            SerdeCbor.DecodePcrInfo(TestVectors.Hex("a26e72656769737465725f696e646578006e72656769737465725f76616c75658119012c")));
    }
}

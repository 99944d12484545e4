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

    [Theory]
    [InlineData("19012c", "is 300, not a byte (0 to 255)")]
    [InlineData("20", "is -1, not a byte (0 to 255)")]
    [InlineData("3bffffffffffffffff", "is -18446744073709551616, not a byte (0 to 255)")]
    [InlineData("1bffffffffffffffff", "is 18446744073709551615, not a byte (0 to 255)")]
    [InlineData("6141", "is a CBOR TextString, not a byte (0 to 255)")]
    public void Array_elements_that_are_not_bytes_are_refused_naming_the_field_and_offset(string element, string detail)
    {
        // register_value = [element]: the map header, two 15-byte keys, index 0 and the array header come first.
        var error = Assert.Throws<SerdeCborException>(() =>
            SerdeCbor.DecodePcrInfo(TestVectors.Hex("a26e72656769737465725f696e646578006e72656769737465725f76616c756581" + element)));

        Assert.Equal("PcrInfo.register_value[0]", error.Field);
        Assert.Equal(33, error.Offset);
        Assert.Equal(detail, error.Detail);
    }

    [Fact]
    public void A_negative_certificate_byte_in_the_signature_section_is_refused_at_its_offset()
    {
        // [{"signing_certificate": [-1], "signature": [1]}]
        var error = Assert.Throws<SerdeCborException>(() =>
            SerdeCbor.DecodeSignatureSection(TestVectors.Hex("81a2737369676e696e675f63657274696669636174658120697369676e61747572658101")));

        Assert.Equal("signature[0].signing_certificate[0]", error.Field);
        Assert.Equal(23, error.Offset);
        Assert.Equal("signature[0].signing_certificate[0] at CBOR byte 23: is -1, not a byte (0 to 255)", error.Message);
    }

    [Theory]
    [InlineData("81a2737369676e696e675f63657274696669636174659f01", "signature[0].signing_certificate")]
    [InlineData("81a2737369676e696e675f636572746966696361746581", "signature[0].signing_certificate")]
    [InlineData("81a2737369676e696e675f63657274696669636174659a7fffffff01", "signature[0].signing_certificate")]
    [InlineData("81a1737369676e696e675f63657274696669636174658101", "signature[0]")]
    [InlineData("81a0", "signature[0]")]
    [InlineData("82a0", "the signature section")]
    [InlineData("8100", "signature[0]")]
    [InlineData("80ff", "the signature section")]
    public void A_malformed_or_truncated_signature_section_names_the_field(string hex, string field)
    {
        var error = Assert.Throws<SerdeCborException>(() => SerdeCbor.DecodeSignatureSection(TestVectors.Hex(hex)));

        Assert.Equal(field, error.Field);
        Assert.InRange(error.Offset, 0, hex.Length / 2);
    }
}

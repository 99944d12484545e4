using System.Formats.Cbor;
using System.Security.Cryptography;
using Cloister.Build.Eif;
using Cloister.Testing;

namespace Cloister.Build.Tests.Eif;

public sealed class EifSigningTests
{
    public static TheoryData<string, int> Curves => new() { { "nistP256", -7 }, { "nistP384", -35 }, { "nistP521", -36 } };

    [Theory]
    [MemberData(nameof(Curves))]
    public void Signed_build_verifies_and_uses_the_algorithm_of_the_curve(string curve, int algorithm)
    {
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.CreateFromFriendlyName(curve));
        using var signer = new EifSigner(pem, key);

        var image = BuildUnsignedFixture(signer);
        using var reader = new EifReader(new MemoryStream(image));
        using var inspection = reader.Inspect();

        Assert.True(inspection.CrcMatches);
        Assert.True(inspection.SignatureValid);
        Assert.Equal(Pcr.ForCertificate(signer.Certificate), inspection.Measurements.Pcr8);
        Assert.Equal(TestVectors.Expected.GetProperty("unsigned").GetProperty("pcrs").GetProperty("PCR0").GetString(), Convert.ToHexStringLower(inspection.Measurements.Pcr0));
        Assert.Equal(pem, inspection.Signature!.CertificatePem);
        var cose = new CborReader(inspection.Signature.CoseSign1);
        Assert.Equal(CborReaderState.StartArray, cose.PeekState());
        cose.ReadStartArray();
        var protectedHeader = new CborReader(cose.ReadByteString());
        protectedHeader.ReadStartMap();
        Assert.Equal(1, protectedHeader.ReadInt32());
        Assert.Equal(algorithm, protectedHeader.ReadInt32());
    }

    [Fact]
    public void Signing_an_existing_image_keeps_pcrs_and_replaces_the_signature()
    {
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384);
        using var signer = new EifSigner(pem, key);
        using var source = EifReader.Open(TestVectors.Derived("synthetic-signed.eif"));
        using var output = new MemoryStream();

        var measurements = signer.SignImage(source, output);
        output.Position = 0;
        using var resigned = new EifReader(output);
        using var inspection = resigned.Inspect();

        Assert.Equal(source.Sections.Select(s => s.Type), resigned.Sections.Select(s => s.Type));
        Assert.True(inspection.CrcMatches);
        Assert.True(inspection.SignatureValid);
        Assert.Equal(measurements.Pcr8, inspection.Measurements.Pcr8);
        Assert.NotEqual(TestVectors.Expected.GetProperty("signed").GetProperty("pcrs").GetProperty("PCR8").GetString(), Convert.ToHexStringLower(measurements.Pcr8!));
        Assert.Equal(TestVectors.Expected.GetProperty("signed").GetProperty("pcrs").GetProperty("PCR0").GetString(), Convert.ToHexStringLower(measurements.Pcr0));
    }

    [Fact]
    public void Signing_an_unsigned_fixture_gives_its_bytes_plus_a_signature()
    {
        var unsigned = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP256);
        using var signer = new EifSigner(pem, key);
        using var source = new EifReader(new MemoryStream(unsigned));
        using var output = new MemoryStream();

        signer.SignImage(source, output);
        var signed = output.ToArray();

        Assert.Equal(unsigned.AsSpan(EifHeader.Size).ToArray(), signed.AsSpan(EifHeader.Size, unsigned.Length - EifHeader.Size).ToArray());
    }

    [Fact]
    public void Tampered_payload_fails_the_signature_check()
    {
        var image = SignedImage(out var signatureSection);
        var (pem, cose) = SerdeCbor.DecodeSignatureSection(signatureSection.Data)[0];
        var message = new CborReader(cose);
        message.ReadStartArray();
        var protectedHeader = message.ReadByteString();
        message.SkipValue();
        var payload = message.ReadByteString();
        var signature = message.ReadByteString();
        var (_, pcr) = SerdeCbor.DecodePcrInfo(payload);
        pcr[0] ^= 1;

        var tampered = CoseEnvelope.Untagged(protectedHeader, SerdeCbor.EncodePcrInfo(0, pcr), signature);

        Assert.False(InspectWithSignature(image, SerdeCbor.EncodeSignatureSection([(pem, tampered)])));
    }

    [Fact]
    public void Tampered_signature_bytes_fail_the_signature_check()
    {
        var image = SignedImage(out var signatureSection);
        var (pem, cose) = SerdeCbor.DecodeSignatureSection(signatureSection.Data)[0];
        cose[^1] ^= 0x40;

        Assert.False(InspectWithSignature(image, SerdeCbor.EncodeSignatureSection([(pem, cose)])));
    }

    [Fact]
    public void Another_certificate_fails_the_signature_check_and_changes_pcr8()
    {
        var image = SignedImage(out var signatureSection);
        var (_, cose) = SerdeCbor.DecodeSignatureSection(signatureSection.Data)[0];
        var (otherPem, otherKey) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384, "CN=someone-else");
        otherKey.Dispose();

        Assert.False(InspectWithSignature(image, SerdeCbor.EncodeSignatureSection([(otherPem, cose)])));
    }

    [Fact]
    public void Tagged_cose_sign1_is_accepted()
    {
        var image = SignedImage(out var signatureSection);
        var (pem, cose) = SerdeCbor.DecodeSignatureSection(signatureSection.Data)[0];

        Assert.True(InspectWithSignature(image, SerdeCbor.EncodeSignatureSection([(pem, [0xD2, .. cose])])));
    }

    [Fact]
    public void A_key_that_does_not_match_the_certificate_is_refused()
    {
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384);
        key.Dispose();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<ArgumentException>(() => new EifSigner(pem, other));
    }

    [Fact]
    public void A_negative_byte_in_the_signature_section_is_refused_at_its_file_offset()
    {
        var image = SignedImage(out var signature);

        var error = Assert.Throws<EifFormatException>(() =>
            InspectWithSignature(image, TestVectors.Hex("81a2737369676e696e675f63657274696669636174658120697369676e61747572658101")));

        Assert.Equal(EifError.BadSignatureSection, error.Error);
        Assert.Equal(signature.Section.DataOffset + 23, error.Offset);
        Assert.Contains("signature[0].signing_certificate[0] is -1, not a byte (0 to 255)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_in_the_signature_section_is_a_bad_signature_section_error()
    {
        var image = SignedImage(out _);

        var error = Assert.Throws<EifFormatException>(() => InspectWithSignature(image, [0x81, 0xa0]));

        Assert.Equal(EifError.BadSignatureSection, error.Error);
    }

    [Fact]
    public void An_integer_beyond_32_bits_in_a_certificate_byte_array_is_a_bad_signature_section_error()
    {
        // Found by fuzz/ (eif-signature), reduced by hand: [{"signing_certificate": [2^32]}]. It escaped as an
        // OverflowException from the CBOR reader.
        var image = SignedImage(out _);
        byte[] section = [0x81, 0xa1, 0x73, .. "signing_certificate"u8, 0x81, 0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00];

        var error = Assert.Throws<EifFormatException>(() => InspectWithSignature(image, section));

        Assert.Equal(EifError.BadSignatureSection, error.Error);
    }

    [Fact]
    public void A_register_index_beyond_32_bits_in_the_signed_payload_fails_the_signature_check()
    {
        // Found by fuzz/ (cose), reduced by hand: a COSE_Sign1 whose PcrInfo payload has register_index 2^40.
        var image = SignedImage(out var signatureSection);
        var (pem, _) = SerdeCbor.DecodeSignatureSection(signatureSection.Data)[0];
        byte[] payload = [0xa2, 0x6e, .. "register_index"u8, 0x1b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6e, .. "register_value"u8, 0x41, 0x00];
        byte[] cose = [0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x58, (byte)payload.Length, .. payload, 0x40];

        Assert.False(InspectWithSignature(image, SerdeCbor.EncodeSignatureSection([(pem, cose)])));
    }

    private static byte[] BuildUnsignedFixture(EifSigner? signer)
    {
        var sections = EifFixtureTests.ReadSectionData("synthetic-unsigned.eif");
        var builder = new EifBuilder(new MemoryStream(sections[0]), System.Text.Encoding.UTF8.GetString(sections[1]), EifMetadata.Parse(sections[2], 0)) { Signer = signer };
        builder.AddRamdisk(new MemoryStream(sections[3]));
        builder.AddRamdisk(new MemoryStream(sections[4]));
        using var output = new MemoryStream();
        builder.WriteTo(output);
        return output.ToArray();
    }

    private static byte[] SignedImage(out (EifSection Section, byte[] Data) signature)
    {
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384);
        using var signer = new EifSigner(pem, key);
        var image = BuildUnsignedFixture(signer);
        using var reader = new EifReader(new MemoryStream(image));
        var section = reader.Sections[^1];
        signature = (section, image.AsSpan((int)section.DataOffset, (int)section.Size).ToArray());
        return image;
    }

    /// <summary>Replaces the last (signature) section, fixes the header size and CRC, and returns SignatureCheck.</summary>
    private static bool? InspectWithSignature(byte[] image, byte[] signatureSection)
    {
        using var reader = new EifReader(new MemoryStream(image));
        var section = reader.Sections[^1];
        var patched = EifCorruption.ReplaceLastSection(image, section, signatureSection);
        using var patchedReader = new EifReader(new MemoryStream(patched));
        using var inspection = patchedReader.Inspect();
        Assert.True(inspection.CrcMatches);
        return inspection.SignatureValid;
    }
}

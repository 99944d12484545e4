using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Tests.Editing;
using Cloister.Attestation.Verification;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Verification;

/// <summary>Documents changed in one place, each of which must fail for its own typed reason.</summary>
public sealed class TamperingTests
{
    private static readonly AttestationVector s_vector = AttestationVectors.Get("evervault_2022-10-13_prod.cbor");
    private static readonly byte[] s_original = s_vector.Read();
    private static readonly AttestationDocument s_document = AttestationDocumentDecoder.Decode(s_original).Document;

    [Fact]
    public void The_untampered_document_is_valid()
    {
        Assert.True(Verify(s_original).IsValid);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(48)]
    [InlineData(96)]
    public void A_flipped_signature_bit_is_a_bad_signature(int fromEnd)
    {
        Assert.Equal(AttestationFailure.BadSignature, Verify(Flip(s_original, s_original.Length - fromEnd)).Failure);
    }

    [Fact]
    public void A_flipped_pcr_bit_is_a_bad_signature()
    {
        var result = Verify(Flip(s_original, Locate(s_document.Pcrs[0]) + 17));

        Assert.Equal(AttestationFailure.BadSignature, result.Failure);
    }

    public static TheoryData<string> PayloadFields => ["module_id", "timestamp", "pcrs[4]", "pcrs[8]", "nonce"];

    [Theory]
    [MemberData(nameof(PayloadFields))]
    public void A_changed_payload_byte_is_a_bad_signature(string field)
    {
        var offset = field switch
        {
            "module_id" => Locate(Encoding.ASCII.GetBytes(s_document.ModuleId)) + 5,
            "timestamp" => Locate("timestamp"u8.ToArray()) + "timestamp".Length + 8,
            "pcrs[4]" => Locate(s_document.Pcrs[4]),
            "pcrs[8]" => Locate(s_document.Pcrs[8]) + 47,
            _ => Locate(s_document.Nonce!) + 100,
        };

        Assert.Equal(AttestationFailure.BadSignature, Verify(Flip(s_original, offset)).Failure);
    }

    [Fact]
    public void A_changed_payload_map_header_is_malformed()
    {
        var offset = Locate("module_id"u8.ToArray()) - 2;
        Assert.Equal(0xA9, s_original[offset]);

        Assert.Equal(AttestationFailure.Malformed, Verify(Flip(s_original, offset)).Failure);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(200)]
    public void A_changed_leaf_certificate_byte_breaks_the_chain(int fromEnd)
    {
        var offset = Locate(s_document.Certificate) + s_document.Certificate.Length - fromEnd;

        var result = Verify(Flip(s_original, offset));

        Assert.Equal(AttestationFailure.ChainInvalid, result.Failure);
        Assert.Contains("certificate", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_intermediate_byte_breaks_the_chain()
    {
        var zonal = s_document.CaBundle[2];

        Assert.Equal(AttestationFailure.ChainInvalid, Verify(Flip(s_original, Locate(zonal) + zonal.Length - 3)).Failure);
    }

    [Theory]
    [InlineData(0, AttestationFailure.UntrustedRoot)]
    [InlineData(1, AttestationFailure.ChainInvalid)]
    [InlineData(2, AttestationFailure.ChainInvalid)]
    [InlineData(3, AttestationFailure.ChainInvalid)]
    public void A_dropped_cabundle_entry_fails(int dropped, AttestationFailure expected)
    {
        var bundle = s_document.CaBundle.Where((_, i) => i != dropped);

        Assert.Equal(expected, Verify(CoseEdit.Of(s_original).SetCaBundle(bundle).ToCose()).Failure);
    }

    [Theory]
    [InlineData(new[] { 0, 2, 1, 3 }, AttestationFailure.ChainInvalid)]
    [InlineData(new[] { 0, 1, 3, 2 }, AttestationFailure.ChainInvalid)]
    [InlineData(new[] { 0, 3, 2, 1 }, AttestationFailure.ChainInvalid)]
    [InlineData(new[] { 3, 2, 1, 0 }, AttestationFailure.UntrustedRoot)]
    public void A_reordered_cabundle_fails(int[] order, AttestationFailure expected)
    {
        var bundle = order.Select(i => s_document.CaBundle[i]);

        Assert.Equal(expected, Verify(CoseEdit.Of(s_original).SetCaBundle(bundle).ToCose()).Failure);
    }

    [Fact]
    public void A_foreign_root_under_the_aws_name_is_untrusted_though_its_chain_holds()
    {
        using var foreignKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var awsRoot = Verifiers.LoadPem(AttestationVectors.AwsRootPemPath);
        var request = new CertificateRequest(awsRoot.SubjectName, foreignKey, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var foreignRoot = request.CreateSelfSigned(awsRoot.NotBefore, awsRoot.NotAfter);
        var bundle = s_document.CaBundle.ToArray();
        bundle[0] = foreignRoot.RawData;
        bundle[1] = Resign(bundle[1], foreignKey);
        var forged = CoseEdit.Of(s_original).SetCaBundle(bundle).ToCose();

        var byDefault = Verify(forged);
        var trustingForeign = Verifiers.At(s_vector.PinTime, foreignRoot).Verify(forged);

        Assert.Equal(AttestationFailure.UntrustedRoot, byDefault.Failure);
        // With the foreign root trusted the re-signed chain passes, and only the COSE signature (over the old
        // cabundle) gives the forgery away.
        Assert.Equal(AttestationFailure.BadSignature, trustingForeign.Failure);
    }

    [Fact]
    public void An_untrusted_self_consistent_chain_is_untrusted_and_valid_once_trusted()
    {
        using var pki = TestPki.Create();
        var document = pki.Sign();
        var now = TestPki.NotBefore.AddMinutes(2);

        var byDefault = Verifiers.At(now).Verify(document);
        var trusted = Verifiers.At(now, pki.Root).Verify(document);

        Assert.Equal(AttestationFailure.UntrustedRoot, byDefault.Failure);
        Assert.True(trusted.IsValid, trusted.ToString());
        Assert.Equal(3, trusted.Chain!.Length);
    }

    [Theory]
    [InlineData("intermediate not a CA", "not a CA")]
    [InlineData("intermediate without keyCertSign", "keyCertSign")]
    [InlineData("root pathLen 0 above an intermediate", "pathLen 0")]
    [InlineData("leaf without digitalSignature", "digitalSignature")]
    [InlineData("leaf with an unknown critical extension", "critical extension 1.3.6.1.4.1.99999.1")]
    [InlineData("intermediate with undecodable basicConstraints", "cannot be processed")]
    public void Chain_constraints_are_enforced(string flaw, string reason)
    {
        var shape = flaw switch
        {
            "intermediate not a CA" => new PkiShape { IntermediateIsCa = false },
            "intermediate without keyCertSign" => new PkiShape { IntermediateUsage = X509KeyUsageFlags.DigitalSignature },
            "root pathLen 0 above an intermediate" => new PkiShape { RootPathLength = 0 },
            "leaf without digitalSignature" => new PkiShape { LeafUsage = X509KeyUsageFlags.KeyEncipherment },
            "intermediate with undecodable basicConstraints" => new PkiShape { IntermediateHasUndecodableBasicConstraints = true },
            _ => new PkiShape { LeafHasUnknownCriticalExtension = true },
        };
        using var pki = TestPki.Create(shape);

        var result = Verifiers.At(TestPki.NotBefore.AddMinutes(2), pki.Root).Verify(pki.Sign());

        Assert.Equal(AttestationFailure.ChainInvalid, result.Failure);
        Assert.Contains(reason, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_without_its_intermediate_breaks_the_chain()
    {
        using var pki = TestPki.Create();

        var result = Verifiers.At(TestPki.NotBefore.AddMinutes(2), pki.Root).Verify(pki.Sign(caBundle: [pki.Root.RawData]));

        Assert.Equal(AttestationFailure.ChainInvalid, result.Failure);
    }

    [Fact]
    public void A_leaf_key_that_is_not_p384_is_an_unsupported_algorithm()
    {
        using var pki = TestPki.Create(new PkiShape { LeafCurve = ECCurve.NamedCurves.nistP256 });
        var unsigned = CoseEnvelope.Untagged([0xA1, 0x01, 0x38, 0x22], AttestationDocumentWriter.EncodePayload(pki.Document()), new byte[96]);

        var result = Verifiers.At(TestPki.NotBefore.AddMinutes(2), pki.Root).Verify(unsigned);

        Assert.Equal(AttestationFailure.UnsupportedAlgorithm, result.Failure);
        Assert.Contains("P-384", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_is_malformed()
    {
        var verifier = Verifiers.At(s_vector.PinTime);
        for (var length = 0; length < s_original.Length; length++)
        {
            var result = verifier.Verify(s_original.AsSpan(0, length));

            Assert.True(result.Failure == AttestationFailure.Malformed, $"truncated to {length}: {result}");
        }
    }

    [Theory]
    [InlineData("public_key")]
    [InlineData("user_data")]
    [InlineData("nonce")]
    public void Optional_fields_of_1025_bytes_are_too_large(string key)
    {
        var result = Verify(CoseEdit.Of(s_original).SetBytes(key, new byte[1025]).ToCose());

        Assert.Equal(AttestationFailure.FieldTooLarge, result.Failure);
        Assert.Contains($"payload.{key}", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0xA1, 0x01, 0x38, 0x23 }, "alg -36")]
    [InlineData(new byte[] { 0xA1, 0x01, 0x26 }, "alg -7")]
    [InlineData(new byte[] { 0xA0 }, "no alg")]
    [InlineData(new byte[] { }, "no alg")]
    public void Another_algorithm_is_unsupported(byte[] protectedHeader, string named)
    {
        var result = Verify(CoseEdit.Of(s_original).WithProtectedHeader(protectedHeader).ToCose());

        Assert.Equal(AttestationFailure.UnsupportedAlgorithm, result.Failure);
        Assert.Contains(named, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_algorithm_byte_changed_in_place_is_unsupported()
    {
        Assert.Equal(new byte[] { 0x84, 0x44, 0xA1, 0x01, 0x38, 0x22 }, s_original[..6]);

        Assert.Equal(AttestationFailure.UnsupportedAlgorithm, Verify(Flip(s_original, 5)).Failure);
    }

    [Fact]
    public void Another_digest_is_unsupported()
    {
        var bytes = s_original.ToArray();
        "SHA512"u8.CopyTo(bytes.AsSpan(Locate("SHA384"u8.ToArray())));

        var result = Verify(bytes);

        Assert.Equal(AttestationFailure.UnsupportedDigest, result.Failure);
        Assert.Contains("SHA512", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signature_of_the_wrong_length_is_a_bad_signature()
    {
        var signed = AttestationDocumentDecoder.Decode(s_original);
        var bytes = CoseEnvelope.Untagged(signed.ProtectedHeader.ToArray(), signed.Payload.ToArray(), signed.Signature[..95].ToArray());

        var result = Verify(bytes);

        Assert.Equal(AttestationFailure.BadSignature, result.Failure);
        Assert.Contains("95 bytes", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45 })]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xA1, 0x01, 0x02 })]
    [InlineData(new byte[] { 0x84, 0x01, 0x02, 0x03, 0x04 })]
    [InlineData(new byte[] { 0x84, 0x40, 0xA0, 0x40, 0x40 })]
    [InlineData(new byte[] { 0xD2, 0x84, 0x43, 0xA1, 0x01, 0x26, 0xA0, 0x41, 0xA0, 0x40 })]
    public void Garbage_is_malformed(byte[] bytes)
    {
        Assert.Equal(AttestationFailure.Malformed, Verify(bytes).Failure);
    }

    [Fact]
    public void Random_bytes_are_malformed()
    {
        var random = new Random(11_24);
        var verifier = Verifiers.At(s_vector.PinTime);
        for (var i = 0; i < 1000; i++)
        {
            var bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);

            Assert.Equal(AttestationFailure.Malformed, verifier.Verify(bytes).Failure);
        }
    }

    [Fact]
    public void A_leaf_that_is_not_a_certificate_is_malformed()
    {
        var result = Verify(CoseEdit.Of(s_original).SetBytes("certificate", [0x30, 0x03, 0x02, 0x01, 0x01]).ToCose());

        Assert.Equal(AttestationFailure.Malformed, result.Failure);
        Assert.Contains("payload.certificate", result.Detail, StringComparison.Ordinal);
    }

    private static AttestationVerificationResult Verify(byte[] bytes) => Verifiers.At(s_vector.PinTime).Verify(bytes);

    private static int Locate(byte[] value)
    {
        var offset = s_original.AsSpan().IndexOf(value);
        Assert.True(offset >= 0, "value not found in the document");
        return offset;
    }

    private static byte[] Flip(byte[] bytes, int offset)
    {
        var copy = bytes.ToArray();
        copy[offset] ^= 0x01;
        return copy;
    }

    private static byte[] Resign(byte[] certificate, ECDsa issuerKey)
    {
        var fields = new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence();
        var tbs = fields.ReadEncodedValue();
        var algorithm = fields.ReadEncodedValue();
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(tbs.Span);
            writer.WriteEncodedValue(algorithm.Span);
            writer.WriteBitString(issuerKey.SignData(tbs.Span, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence));
        }

        return writer.Encode();
    }
}

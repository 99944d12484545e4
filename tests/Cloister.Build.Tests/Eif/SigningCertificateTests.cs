using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class SigningCertificateTests
{
    private static readonly Lazy<X509Certificate2> s_ca = new(() => TestVectors.CreateCertificateAuthority("CN=cloister-test-signing-ca"));
    private static readonly Lazy<X509Certificate2> s_otherCa = new(() => TestVectors.CreateCertificateAuthority("CN=someone-else-ca"));

    [Fact]
    public void A_self_signed_certificate_is_checked_against_its_own_key()
    {
        using var inspection = Inspect(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self"), certificateInSection: null, anchors: null);

        Assert.Equal(EifCertificateTrust.SelfSigned, inspection.CertificateCheck!.Trust);
        Assert.True(inspection.SignatureValid);
    }

    [Fact]
    public void A_tampered_self_signed_certificate_fails_the_signature_check_though_the_cose_signature_verifies()
    {
        var identity = TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self");
        var tampered = TestVectors.TamperAuthorityKeyIdentifier(identity.CertificatePem);

        using var inspection = Inspect(identity, tampered, anchors: null);

        Assert.True(inspection.CoseSignatureValid);
        Assert.False(inspection.SignatureValid);
        Assert.Equal(EifCertificateTrust.BadSelfSignature, inspection.CertificateCheck!.Trust);
        Assert.StartsWith("names itself as its issuer, but its signature does not verify", inspection.CertificateCheck.Detail, StringComparison.Ordinal);
        Assert.NotEqual(Pcr.ForCertificate(inspection.Signature!.Certificate), PcrOf(identity.CertificatePem));
    }

    [Fact]
    public void A_certificate_whose_authority_key_is_its_own_must_verify_with_its_own_key()
    {
        // Another issuer's name, but the authority key identifier names its own key: it claims to be self-signed.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=claims-self", key, HashAlgorithmName.SHA384);
        var subjectKeyIdentifier = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKeyIdentifier);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyIdentifier));
        using var caKey = s_ca.Value.GetECDsaPrivateKey()!;
        using var certificate = request.Create(s_ca.Value.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(60), [1]);

        using var inspection = Inspect((Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()), key), certificateInSection: null, anchors: null);

        Assert.Equal(EifCertificateTrust.BadSelfSignature, inspection.CertificateCheck!.Trust);
        Assert.StartsWith("names its own key as its authority key", inspection.CertificateCheck.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_issued_by_a_ca_that_was_not_given_is_reported_as_not_checked()
    {
        using var inspection = Inspect(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=issued", s_ca.Value), certificateInSection: null, anchors: null);

        Assert.Equal(EifCertificateTrust.IssuerNotChecked, inspection.CertificateCheck!.Trust);
        Assert.Contains("CN=cloister-test-signing-ca", inspection.CertificateCheck.Detail, StringComparison.Ordinal);
        Assert.False(inspection.CertificateCheck.Failed);
        Assert.True(inspection.SignatureValid);
    }

    [Fact]
    public void A_certificate_issued_by_the_given_ca_chains_to_it()
    {
        using var inspection = Inspect(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=issued", s_ca.Value), certificateInSection: null, anchors: [s_ca.Value]);

        Assert.Equal(EifCertificateTrust.Anchored, inspection.CertificateCheck!.Trust);
        Assert.True(inspection.SignatureValid);
    }

    [Fact]
    public void A_certificate_issued_by_another_ca_does_not_chain_to_the_given_one()
    {
        using var inspection = Inspect(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=issued", s_otherCa.Value), certificateInSection: null, anchors: [s_ca.Value]);

        Assert.Equal(EifCertificateTrust.NotAnchored, inspection.CertificateCheck!.Trust);
        Assert.False(inspection.SignatureValid);
    }

    [Fact]
    public void A_self_signed_certificate_does_not_chain_to_a_ca_it_is_not()
    {
        using var inspection = Inspect(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self"), certificateInSection: null, anchors: [s_ca.Value]);

        Assert.Equal(EifCertificateTrust.NotAnchored, inspection.CertificateCheck!.Trust);
    }

    [Fact]
    public void A_tampered_ca_issued_certificate_does_not_chain_to_its_ca()
    {
        var identity = TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=issued", s_ca.Value);

        using var inspection = Inspect(identity, TestVectors.TamperAuthorityKeyIdentifier(identity.CertificatePem), anchors: [s_ca.Value]);

        Assert.True(inspection.CoseSignatureValid);
        Assert.Equal(EifCertificateTrust.NotAnchored, inspection.CertificateCheck!.Trust);
        Assert.False(inspection.SignatureValid);
    }

    [Fact]
    public void A_certificate_that_is_not_canonical_der_fails_though_it_parses_and_its_own_signature_verifies()
    {
        var (pem, key) = TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self");
        var loose = PemOf(WithExplicitNonCriticalFlags(DerOf(pem), key));
        Assert.NotNull(EifSigner.ParseCertificatePem(loose));

        using var inspection = Inspect((pem, key), loose, anchors: null);

        Assert.Equal(EifCertificateTrust.Malformed, inspection.CertificateCheck!.Trust);
        Assert.Contains("BOOLEAN FALSE", inspection.CertificateCheck.Detail, StringComparison.Ordinal);
        Assert.False(inspection.SignatureValid);
    }

    [Fact]
    public void The_signer_refuses_a_certificate_that_is_not_canonical_der()
    {
        var (pem, key) = TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self");
        var loose = PemOf(WithExplicitNonCriticalFlags(DerOf(pem), key));

        var error = Assert.Throws<ArgumentException>(() => new EifSigner(loose, key));

        Assert.Contains("the signing certificate is malformed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Canonical_der_from_dotnet_and_from_the_fixture_passes()
    {
        Assert.Null(CertificateDer.FindProblem(DerOf(TestVectors.CreateSigningIdentityWithKeyIdentifiers("CN=self").CertificatePem)));
        Assert.Null(CertificateDer.FindProblem(DerOf(File.ReadAllBytes(TestVectors.Derived("synthetic-signing-cert.pem")))));
    }

    public static TheoryData<string, string> NotCanonical => new()
    {
        { "3083000003020101", "not DER" },
        { "3080020101" + "0000", "not DER" },
        { "3003020101" + "00", "not DER" },
        { "30060201000201ff", "" },
        { "3106020102020101", "not DER" },
        { "300d06035529130101000403300100", "BOOLEAN FALSE" },
        { "3003010101", "not DER" },
        { "300424020400", "constructed form" },
        { "30040202007f", "not DER" },
    };

    [Theory]
    [MemberData(nameof(NotCanonical))]
    public void Encodings_that_are_not_the_one_der_are_named(string hex, string problem)
    {
        var found = CertificateDer.FindProblem(Convert.FromHexString(hex));

        if (problem.Length == 0)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Hostile_nesting_is_refused_without_exhausting_the_stack()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        var scopes = Enumerable.Range(0, 100).Select(_ => writer.PushSequence()).ToList();
        scopes.Reverse();
        scopes.ForEach(scope => scope.Dispose());

        Assert.Contains("nests more than 32", CertificateDer.FindProblem(writer.Encode()), StringComparison.Ordinal);
    }

    private static EifInspection Inspect((byte[] CertificatePem, ECDsa Key) identity, byte[]? certificateInSection, IReadOnlyCollection<X509Certificate2>? anchors)
    {
        using var signer = new EifSigner(identity.CertificatePem, identity.Key);
        using var output = new MemoryStream();
        var sections = EifFixtureTests.ReadSectionData("synthetic-unsigned.eif");
        var builder = new EifBuilder(new MemoryStream(sections[0]), Encoding.UTF8.GetString(sections[1]), EifMetadata.Parse(sections[2], 0)) { Signer = signer };
        builder.AddRamdisk(new MemoryStream(sections[3]));
        builder.AddRamdisk(new MemoryStream(sections[4]));
        builder.WriteTo(output);
        var image = output.ToArray();
        if (certificateInSection is not null)
        {
            using var reader = new EifReader(new MemoryStream(image));
            var section = reader.Sections[^1];
            var (_, cose) = SerdeCbor.DecodeSignatureSection(image.AsMemory((int)section.DataOffset, (int)section.Size))[0];
            image = EifCorruption.ReplaceLastSection(image, section, SerdeCbor.EncodeSignatureSection([(certificateInSection, cose)]));
        }

        using var patched = new EifReader(new MemoryStream(image));
        return patched.Inspect(anchors);
    }

    private static byte[] PcrOf(byte[] pem)
    {
        using var certificate = EifSigner.ParseCertificatePem(pem)!;
        return Pcr.ForCertificate(certificate);
    }

    private static byte[] DerOf(byte[] pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(pem));
        return certificate.RawData;
    }

    private static byte[] PemOf(byte[] der) => Encoding.ASCII.GetBytes(PemEncoding.WriteString("CERTIFICATE", der) + "\n");

    /// <summary>
    /// The certificate re-signed by <paramref name="key"/> with every extension's critical flag written out, FALSE
    /// included: a DEFAULT value that DER omits, so the certificate is BER, though .NET parses it and it verifies.
    /// </summary>
    private static byte[] WithExplicitNonCriticalFlags(byte[] der, ECDsa key)
    {
        var certificate = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var fields = certificate.ReadSequence();
        var algorithm = certificate.ReadEncodedValue();
        var extensionsTag = new Asn1Tag(TagClass.ContextSpecific, 3, isConstructed: true);
        var tbs = new AsnWriter(AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            while (fields.HasData)
            {
                if (!fields.PeekTag().HasSameClassAndValue(extensionsTag))
                {
                    tbs.WriteEncodedValue(fields.ReadEncodedValue().Span);
                    continue;
                }

                var extensions = fields.ReadSequence(extensionsTag).ReadSequence();
                using (tbs.PushSequence(extensionsTag))
                using (tbs.PushSequence())
                {
                    while (extensions.HasData)
                    {
                        var extension = extensions.ReadSequence();
                        using (tbs.PushSequence())
                        {
                            tbs.WriteObjectIdentifier(extension.ReadObjectIdentifier());
                            tbs.WriteBoolean(extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && extension.ReadBoolean());
                            tbs.WriteOctetString(extension.ReadOctetString());
                        }
                    }
                }
            }
        }

        var signed = tbs.Encode();
        var result = new AsnWriter(AsnEncodingRules.DER);
        using (result.PushSequence())
        {
            result.WriteEncodedValue(signed);
            result.WriteEncodedValue(algorithm.Span);
            result.WriteBitString(key.SignData(signed, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence));
        }

        return result.Encode();
    }
}

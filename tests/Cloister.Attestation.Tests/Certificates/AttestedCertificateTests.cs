using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Documents;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Certificates;

public sealed class AttestedCertificateTests
{
    private static readonly DateTimeOffset s_notBefore = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_notAfter = s_notBefore.AddHours(3);

    public static TheoryData<string> EvervaultSanCertificates => new()
    {
        "evervault_2022-11-16_cert_debug",
        "evervault_2023-01-18_cert_debug",
        "evervault_2023-01-18_cert_prod",
        "evervault_2023-09-06_cert_debug",
        "evervault_2023-09-06_pycert_debug",
    };

    [Theory]
    [MemberData(nameof(EvervaultSanCertificates))]
    public void Evervault_certificates_yield_their_document_and_bind_its_key(string name)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(RepositoryPaths.Vector("attestation", "certs", name + ".tls.der"));
        var expected = File.ReadAllBytes(RepositoryPaths.Vector("attestation", "real", name + ".cbor"));

        Assert.True(AttestedCertificate.TryGetDocument(certificate, out var document));
        Assert.Equal(expected, document);
        Assert.Equal(AttestationDocumentDecoder.Decode(document).Document.UserData, AttestedCertificate.GetKeyBinding(certificate));
        Assert.All(AttestedCertificate.GetHostnames(certificate), host => Assert.True(host.Split('.')[0].Length <= AttestedCertificate.MaxDnsLabelLength));
    }

    [Theory]
    [InlineData("evervault_2023-09-07_ga_debug")]
    [InlineData("evervault_2023-09-18_ga_debug")]
    public void Public_ca_certificates_carry_no_document(string name)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(RepositoryPaths.Vector("attestation", "certs", name + ".tls.der"));

        Assert.False(AttestedCertificate.TryGetDocument(certificate, out var document));
        Assert.Null(document);
        Assert.Equal(AttestationDocumentDecoder.Decode(File.ReadAllBytes(RepositoryPaths.Vector("attestation", "real", name + ".cbor"))).Document.UserData, AttestedCertificate.GetKeyBinding(certificate));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(384)]
    public void A_self_signed_certificate_round_trips_document_hostnames_and_key(int keySize)
    {
        using var key = ECDsa.Create(keySize == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        var document = RealDocument();

        using var certificate = AttestedCertificate.CreateSelfSigned(key, document, ["api.example.com", "www.example.com"], s_notBefore, s_notAfter);

        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(certificate.SubjectName.RawData, certificate.IssuerName.RawData);
        Assert.Equal("CN=api.example.com", certificate.Subject);
        Assert.True(AttestedCertificate.TryGetDocument(certificate, out var embedded));
        Assert.Equal(document, embedded);
        Assert.Equal(["api.example.com", "www.example.com"], AttestedCertificate.GetHostnames(certificate));
        Assert.Equal(AttestedCertificate.GetKeyBinding(key), AttestedCertificate.GetKeyBinding(certificate));
        Assert.Equal(s_notAfter, certificate.NotAfter.ToUniversalTime());
        Assert.False(Assert.Single(certificate.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, Assert.Single(certificate.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages);
        Assert.Equal("1.3.6.1.5.5.7.3.1", Assert.Single(Assert.Single(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()).EnhancedKeyUsages.Cast<Oid>()).Value);
    }

    [Fact]
    public void The_document_label_is_lowercase_hex_on_the_first_hostname_after_the_hostnames()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var document = RealDocument();

        using var certificate = AttestedCertificate.CreateSelfSigned(key, document, ["a.example", "b.example"], s_notBefore, s_notAfter);

        Assert.Equal(["a.example", "b.example", Convert.ToHexStringLower(document) + ".a.example"], DnsNames(certificate));
    }

    [Fact]
    public void An_issued_certificate_chains_to_its_ca_and_keeps_the_leaf_key()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var caRequest = new CertificateRequest("CN=Cloister test deployment CA", caKey, HashAlgorithmName.SHA384);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(s_notBefore.AddDays(-1), s_notBefore.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var certificate = AttestedCertificate.CreateIssued(key, RealDocument(), ["api.example.com"], s_notBefore, s_notAfter, ca);

        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(ca.SubjectName.RawData, certificate.IssuerName.RawData);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = s_notBefore.AddHours(1).UtcDateTime;
        Assert.True(chain.Build(certificate), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.True(AttestedCertificate.TryGetDocument(certificate, out _));
    }

    [Fact]
    public void An_issuer_without_its_private_key_or_a_validity_outside_it_is_refused()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = new CertificateRequest("CN=ca", caKey, HashAlgorithmName.SHA256).CreateSelfSigned(s_notBefore, s_notBefore.AddHours(1));
        using var publicOnly = X509CertificateLoader.LoadCertificate(ca.RawData);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.Contains("private key", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateIssued(key, RealDocument(), ["a.example"], s_notBefore, s_notAfter.AddHours(-2.5), publicOnly)).Message);
        Assert.Contains("outside the issuer", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateIssued(key, RealDocument(), ["a.example"], s_notBefore, s_notAfter, ca)).Message);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_what_was_wrong()
    {
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var p521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var document = RealDocument();

        Assert.Contains("P-256 or P-384", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p521, document, ["a.example"], s_notBefore, s_notAfter)).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p256, [], ["a.example"], s_notBefore, s_notAfter)).Message);
        Assert.Contains("at least one hostname", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p256, document, [], s_notBefore, s_notAfter)).Message);
        Assert.Contains("'a_b.example' is not a DNS name", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p256, document, ["a_b.example"], s_notBefore, s_notAfter)).Message);
        Assert.Contains("is not a DNS name", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p256, document, ["a..example"], s_notBefore, s_notAfter)).Message);
        Assert.Contains("is empty", Assert.Throws<ArgumentException>(() => AttestedCertificate.CreateSelfSigned(p256, document, ["a.example"], s_notAfter, s_notAfter)).Message);
    }

    [Fact]
    public void Short_hex_labels_of_ordinary_hostnames_are_not_documents()
    {
        using var certificate = CertificateWithSubjectAltName(["cafe.example", "deadbeef.example", new string('a', 64) + "x.example"]);

        Assert.False(AttestedCertificate.TryGetDocument(certificate, out _));
        Assert.Equal(3, AttestedCertificate.GetHostnames(certificate).Count);
    }

    [Fact]
    public void The_longest_document_label_wins()
    {
        var shorter = new string('0', 80);
        var longer = new string('1', 120);
        using var certificate = CertificateWithSubjectAltName([shorter + ".a.example", longer + ".a.example", "a.example"]);

        Assert.True(AttestedCertificate.TryGetDocument(certificate, out var document));
        Assert.Equal(Convert.FromHexString(longer), document);
        Assert.Equal(["a.example"], AttestedCertificate.GetHostnames(certificate));
    }

    [Fact]
    public void A_malformed_subject_alt_name_is_a_cryptographic_exception()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", [0x30, 0x05, 0x82, 0x01], false));
        using var certificate = request.CreateSelfSigned(s_notBefore, s_notAfter);

        Assert.Contains("subjectAltName", Assert.Throws<CryptographicException>(() => AttestedCertificate.TryGetDocument(certificate, out _)).Message);
    }

    [Fact]
    public void A_certificate_without_subject_alt_names_has_no_document_and_no_hostnames()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSelfSigned(s_notBefore, s_notAfter);

        Assert.False(AttestedCertificate.TryGetDocument(certificate, out _));
        Assert.Empty(AttestedCertificate.GetHostnames(certificate));
    }

    private static byte[] RealDocument() => File.ReadAllBytes(RepositoryPaths.Vector("attestation", "real", "evervault_2023-01-18_cert_prod.cbor"));

    private static X509Certificate2 CertificateWithSubjectAltName(string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var name in dnsNames)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
            }
        }

        var request = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", writer.Encode(), false));
        return request.CreateSelfSigned(s_notBefore, s_notAfter);
    }

    private static List<string> DnsNames(X509Certificate2 certificate)
    {
        var reader = new AsnReader(certificate.Extensions["2.5.29.17"]!.RawData, AsnEncodingRules.DER).ReadSequence();
        var names = new List<string>();
        while (reader.HasData)
        {
            names.Add(reader.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 2)));
        }

        return names;
    }
}

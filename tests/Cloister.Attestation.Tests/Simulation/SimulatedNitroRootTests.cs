using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Simulation;

public sealed class SimulatedNitroRootTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 1, 12, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public void A_new_root_is_a_long_lived_self_signed_p384_ca_with_its_own_name()
    {
        using var root = SimulatedNitroRoot.Create(new FakeTimeProvider(s_now));
        var certificate = root.Certificate;

        Assert.Equal(certificate.SubjectName.RawData, certificate.IssuerName.RawData);
        Assert.Equal(SimulatedNitroRoot.CommonName, certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.DoesNotContain("aws", certificate.Subject, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Amazon", certificate.Subject, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(s_now.ToUnixTimeSeconds()), new DateTimeOffset(certificate.NotBefore.ToUniversalTime()));
        Assert.Equal(SimulatedNitroRoot.Lifetime, certificate.NotAfter - certificate.NotBefore);
        Assert.Equal(384, certificate.GetECDsaPublicKey()!.KeySize);
        Assert.Equal("1.2.840.10045.4.3.3", certificate.SignatureAlgorithm.Value);
        Assert.False(certificate.HasPrivateKey);
        var basic = Assert.Single(certificate.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(basic is { Critical: true, CertificateAuthority: true, HasPathLengthConstraint: false });
        var usage = Assert.Single(certificate.Extensions.OfType<X509KeyUsageExtension>());
        Assert.True(usage.Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.Single(certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Empty(certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(certificate);
        chain.ChainPolicy.VerificationTime = s_now.UtcDateTime;
        Assert.True(chain.Build(certificate));
    }

    [Fact]
    public void Two_new_roots_differ()
    {
        using var first = SimulatedNitroRoot.Create();
        using var second = SimulatedNitroRoot.Create();

        Assert.NotEqual(first.Certificate.RawData, second.Certificate.RawData);
        Assert.NotEqual(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
    }

    [Fact]
    public void A_root_exported_as_pem_and_imported_again_signs_documents_that_chain_to_the_original()
    {
        using var original = SimulatedNitroRoot.Create();
        var certificatePem = original.ExportCertificatePem();
        var keyPem = original.ExportPrivateKeyPem();

        using var imported = SimulatedNitroRoot.ImportFromPem(certificatePem, keyPem);
        using var nsm = new SoftwareNsm(imported);
        var response = Assert.IsType<AttestationResponse>(nsm.Process(new AttestationRequest()));
        var document = DecodedDocument.Decode(response.Document);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certificatePem, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", keyPem, StringComparison.Ordinal);
        Assert.Equal(original.Certificate.RawData, imported.Certificate.RawData);
        Assert.True(document.SignatureVerifies());
        Assert.True(document.ChainBuildsTo(original.Certificate));
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused()
    {
        using var root = SimulatedNitroRoot.Create();
        using var other = SimulatedNitroRoot.Create();

        var thrown = Assert.Throws<FormatException>(() => SimulatedNitroRoot.ImportFromPem(root.ExportCertificatePem(), other.ExportPrivateKeyPem()));

        Assert.Contains("private key", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_that_is_not_a_p384_ca_is_refused()
    {
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var p256Certificate = new CertificateRequest("CN=x", p256, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var notCa = new CertificateRequest("CN=x", p384, HashAlgorithmName.SHA384)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));

        var wrongCurve = Assert.Throws<FormatException>(() =>
            SimulatedNitroRoot.ImportFromPem(p256Certificate.ExportCertificatePem(), p256.ExportPkcs8PrivateKeyPem()));
        var notAuthority = Assert.Throws<FormatException>(() =>
            SimulatedNitroRoot.ImportFromPem(notCa.ExportCertificatePem(), p384.ExportPkcs8PrivateKeyPem()));

        Assert.Contains("P-384", wrongCurve.Message, StringComparison.Ordinal);
        Assert.Contains("not a CA", notAuthority.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Text_that_is_not_pem_is_a_format_exception_naming_which_part(bool breakCertificate)
    {
        using var root = SimulatedNitroRoot.Create();
        var certificatePem = breakCertificate ? "not a certificate" : root.ExportCertificatePem();
        var keyPem = breakCertificate ? root.ExportPrivateKeyPem() : "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";

        var thrown = Assert.Throws<FormatException>(() => SimulatedNitroRoot.ImportFromPem(certificatePem, keyPem));

        Assert.Contains(breakCertificate ? "certificate PEM" : "private key PEM", thrown.Message, StringComparison.Ordinal);
    }
}

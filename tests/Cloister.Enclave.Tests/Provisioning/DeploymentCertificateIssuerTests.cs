using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Enclave.Ingress;
using Cloister.Enclave.Provisioning;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Provisioning;

public sealed class DeploymentCertificateIssuerTests : IDisposable
{
    private readonly X509Certificate2 _root = ProvisioningPki.CertificateAuthority("provisioner root");
    private readonly X509Certificate2 _intermediate;

    public DeploymentCertificateIssuerTests() => _intermediate = ProvisioningPki.CertificateAuthority("deployment payments", _root);

    public void Dispose()
    {
        _intermediate.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void Leaves_are_signed_by_the_deployment_ca_and_served_with_it()
    {
        using var issuer = DeploymentCertificateIssuer.From(Authority());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var document = RandomNumberGenerator.GetBytes(600);
        var now = DateTimeOffset.UtcNow;

        using var leaf = issuer.Issue(key, document, ["app.example"], now.AddMinutes(-5), now.AddHours(3));
        var context = new ServedCertificate(leaf, document, AttestedCertificate.GetKeyBinding(key), now, now.AddHours(3), issuer.Chain).CreateContext();

        Assert.Equal(_intermediate.SubjectName.Name, leaf.IssuerName.Name);
        Assert.True(ProvisioningPki.ChainsTo(leaf, _root, issuer.Chain));
        Assert.False(ProvisioningPki.ChainsTo(leaf, _root));
        Assert.True(AttestedCertificate.TryGetDocument(leaf, out var embedded));
        Assert.Equal(document, embedded);
        Assert.Equal(["app.example"], AttestedCertificate.GetHostnames(leaf));
        Assert.Equal([_intermediate.Thumbprint], context.IntermediateCertificates.Select(certificate => certificate.Thumbprint));
    }

    [Fact]
    public void A_leaf_never_outlives_its_ca()
    {
        using var issuer = DeploymentCertificateIssuer.From(Authority());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var leaf = issuer.Issue(key, RandomNumberGenerator.GetBytes(600), ["app.example"], DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(1));

        Assert.Equal(_intermediate.NotAfter, leaf.NotAfter);
        Assert.Equal(_intermediate.NotBefore, leaf.NotBefore);
    }

    [Fact]
    public void A_certificate_that_is_not_a_ca_or_a_key_that_is_not_its_is_refused()
    {
        using var server = ProvisioningPki.ServerCertificate();
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Equal(
            "the deployment CA 'CN=localhost' is not a CA certificate",
            Assert.Throws<FormatException>(() => DeploymentCertificateIssuer.From(new ProvisionedCertificateAuthority { Certificate = server.ExportCertificatePem(), PrivateKey = ProvisioningPki.PrivateKeyPem(server), Chain = [] })).Message);
        Assert.StartsWith(
            "the deployment CA's certificate and key do not form a CA: ",
            Assert.Throws<FormatException>(() => DeploymentCertificateIssuer.From(new ProvisionedCertificateAuthority { Certificate = _intermediate.ExportCertificatePem(), PrivateKey = otherKey.ExportPkcs8PrivateKeyPem(), Chain = [] })).Message,
            StringComparison.Ordinal);
    }

    private ProvisionedCertificateAuthority Authority() => new()
    {
        Certificate = _intermediate.ExportCertificatePem(),
        PrivateKey = ProvisioningPki.PrivateKeyPem(_intermediate),
        Chain = [_root.ExportCertificatePem()],
    };
}

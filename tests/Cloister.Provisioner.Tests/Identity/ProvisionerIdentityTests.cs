using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Provisioner.Identity;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Provisioner.Tests.Identity;

public sealed class ProvisionerIdentityTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly Uri s_url = new("https://provisioner.example.com:8443");
    private readonly TempRunDirectory _scratch = new();

    private string Dir => Path.Combine(_scratch.Path, "p");

    [Fact]
    public void Create_writes_every_file_keys_owner_only_and_an_operator_that_pins_the_tls_key()
    {
        using var identity = ProvisionerIdentity.Create(Dir, s_url);

        foreach (var key in new[] { "tls.key", "token.key", "root-ca.key", "client-ca.key", "storage.key", "operator.json" })
        {
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(Dir, key)));
        }

        foreach (var certificate in new[] { "tls.pem", "root-ca.pem", "client-ca.pem" })
        {
            Assert.True(File.Exists(Path.Combine(Dir, certificate)));
        }

        var credentials = ProvisionerCredentials.Read(Path.Combine(Dir, "operator.json"));
        Assert.Equal(s_url, credentials.Provisioner);
        Assert.Equal(identity.Pin, credentials.Pin);
        using var operatorCertificate = credentials.ClientCertificate();
        Assert.Equal(new ClientIdentity(ClientRole.Operator, "operator", ProvisionerIdentity.Thumbprint(operatorCertificate)), identity.Authenticate(operatorCertificate, DateTimeOffset.UtcNow));

        var san = identity.TlsCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["provisioner.example.com"], san.EnumerateDnsNames());
        Assert.Equal(384, identity.TlsCertificate.GetECDsaPublicKey()!.KeySize);
    }

    [Fact]
    public void Create_refuses_a_non_empty_directory_and_a_non_https_url()
    {
        Directory.CreateDirectory(Dir);
        File.WriteAllText(Path.Combine(Dir, "something"), "");
        Assert.Contains("not empty", Assert.Throws<IOException>(() => ProvisionerIdentity.Create(Dir, s_url)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ProvisionerIdentity.Create(Path.Combine(_scratch.Path, "q"), new Uri("http://provisioner.example.com")));
    }

    [Fact]
    public void Load_reads_what_Create_wrote()
    {
        byte[] pin;
        using (var created = ProvisionerIdentity.Create(Dir, s_url))
        {
            pin = created.Pin;
        }

        using var loaded = ProvisionerIdentity.Load(Dir);
        Assert.Equal(pin, loaded.Pin);
        Assert.True(loaded.TlsCertificate.HasPrivateKey);
    }

    [Theory]
    [InlineData("token.key", "missing")]
    [InlineData("storage.key", "missing")]
    [InlineData("root-ca.pem", "missing")]
    public void Load_names_a_missing_file(string file, string expected)
    {
        ProvisionerIdentity.Create(Dir, s_url).Dispose();
        File.Delete(Path.Combine(Dir, file));
        var message = Assert.Throws<FormatException>(() => ProvisionerIdentity.Load(Dir)).Message;
        Assert.Contains(file, message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Load_refuses_a_key_others_can_read_and_a_certificate_of_another_key()
    {
        ProvisionerIdentity.Create(Dir, s_url).Dispose();
        File.SetUnixFileMode(Path.Combine(Dir, "client-ca.key"), OwnerOnly | UnixFileMode.OtherRead);
        Assert.Contains("chmod 600", Assert.Throws<FormatException>(() => ProvisionerIdentity.Load(Dir)).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(Path.Combine(Dir, "client-ca.key"), OwnerOnly);

        File.Copy(Path.Combine(Dir, "root-ca.pem"), Path.Combine(Dir, "tls.pem"), overwrite: true);
        var message = Assert.Throws<FormatException>(() => ProvisionerIdentity.Load(Dir)).Message;
        Assert.Contains("tls.pem", message, StringComparison.Ordinal);
        Assert.Contains("not for the key", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_refuses_a_directory_that_does_not_exist()
    {
        Assert.Contains("cloister provisioner init", Assert.Throws<FormatException>(() => ProvisionerIdentity.Load(Dir)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_certificate_from_a_csr_authenticates_as_that_host_and_a_foreign_one_does_not()
    {
        using var identity = ProvisionerIdentity.Create(Dir, s_url);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=ignored", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var now = DateTimeOffset.UtcNow;

        using var certificate = identity.IssueClientCertificate(csr, "host-1", ClientRole.Host, now);
        Assert.Equal(ClientRole.Host, identity.Authenticate(certificate, now)!.Role);
        Assert.Equal("host-1", identity.Authenticate(certificate, now)!.Name);
        Assert.Null(identity.Authenticate(certificate, now + ProvisionerIdentity.ClientCertificateLifetime + TimeSpan.FromDays(1)));

        using var otherDirectory = ProvisionerIdentity.Create(Path.Combine(_scratch.Path, "other"), s_url);
        using var foreign = otherDirectory.IssueClientCertificate(csr, "host-1", ClientRole.Host, now);
        Assert.Null(identity.Authenticate(foreign, now));
        Assert.Null(identity.Authenticate(null, now));

        Assert.Throws<FormatException>(() => identity.IssueClientCertificate("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "host-1", ClientRole.Host, now));
        Assert.Throws<ArgumentException>(() => identity.IssueClientCertificate(csr, "bad/name", ClientRole.Host, now));
        using var weak = RSA.Create(1024);
        Assert.Throws<FormatException>(() => identity.IssueClientCertificate(
            new CertificateRequest("CN=x", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem(), "host-2", ClientRole.Host, now));
    }

    [Fact]
    public void A_deployment_ca_is_a_name_constrained_p384_ca_with_path_length_0_under_the_root()
    {
        using var identity = ProvisionerIdentity.Create(Dir, s_url);
        var now = DateTimeOffset.UtcNow;
        var (certificatePem, keyPem) = identity.IssueDeploymentCa("web", ["api.example.com", "web.example.org"], now);
        using var ca = X509Certificate2.CreateFromPem(certificatePem, keyPem);

        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints is { CertificateAuthority: true, HasPathLengthConstraint: true, PathLengthConstraint: 0, Critical: true });
        var usage = ca.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, usage.KeyUsages);
        Assert.Equal(384, ca.GetECDsaPublicKey()!.KeySize);
        Assert.InRange(ca.NotAfter.ToUniversalTime() - now.UtcDateTime, TimeSpan.FromDays(29), TimeSpan.FromDays(30));

        var nameConstraints = ca.Extensions["2.5.29.30"]!;
        Assert.True(nameConstraints.Critical);
        Assert.Equal(["api.example.com", "web.example.org"], NameConstraints.Read(nameConstraints.RawData).PermittedDnsNames);

        Assert.True(LeafChains(identity, ca, "api.example.com"));
        Assert.True(LeafChains(identity, ca, "v1.api.example.com"));
        Assert.False(LeafChains(identity, ca, "evil.example.net"));
    }

    [Fact]
    public void A_deployment_ca_needs_hostnames()
    {
        using var identity = ProvisionerIdentity.Create(Dir, s_url);
        Assert.Throws<ArgumentException>(() => identity.IssueDeploymentCa("web", [], DateTimeOffset.UtcNow));
        Assert.Throws<ArgumentException>(() => identity.IssueDeploymentCa("web", ["Not A Host"], DateTimeOffset.UtcNow));
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>Whether a TLS leaf for <paramref name="hostname"/> issued by the deployment CA chains to the root (name constraints enforced by the platform).</summary>
    private static bool LeafChains(ProvisionerIdentity identity, X509Certificate2 ca, string hostname)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostname);
        request.CertificateExtensions.Add(san.Build());
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(identity.RootCaCertificate);
        chain.ChainPolicy.ExtraStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}

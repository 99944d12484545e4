using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Runtime.Tests.Provisioning;

[SupportedOSPlatform("linux")]
public sealed class ProvisionerCredentialsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-credentials-").FullName;
    private readonly X509Certificate2 _server = ProvisioningPki.ServerCertificate();
    private readonly X509Certificate2 _clientCa = ProvisioningPki.CertificateAuthority("client CA");
    private readonly X509Certificate2 _host;

    public ProvisionerCredentialsTests() => _host = ProvisioningPki.ClientCertificate(_clientCa, "host-a", "host");

    public void Dispose()
    {
        _host.Dispose();
        _clientCa.Dispose();
        _server.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Written_credentials_read_back_and_are_owner_only_from_creation()
    {
        var path = Path.Combine(_directory, "host.json");

        Credentials().Write(path);
        var read = ProvisionerCredentials.Read(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal((new Uri("https://provisioner.example:8443/"), "host-a"), (read.Provisioner, read.Name));
        Assert.Equal(ProvisionerPin.Of(_server), read.Pin);
        using var client = read.ClientCertificate();
        Assert.True(client.HasPrivateKey);
        Assert.Equal(_host.Thumbprint, client.Thumbprint);
    }

    [Fact]
    public void An_existing_file_is_never_overwritten()
    {
        var path = Path.Combine(_directory, "host.json");
        File.WriteAllText(path, "keep");

        Assert.Throws<IOException>(() => Credentials().Write(path));
        Assert.Equal("keep", File.ReadAllText(path));
    }

    [Fact]
    public void A_file_others_may_read_is_refused()
    {
        var path = Path.Combine(_directory, "host.json");
        Credentials().Write(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var ex = Assert.Throws<FormatException>(() => ProvisionerCredentials.Read(path));

        Assert.Equal($"{path}: credentials must be readable by their owner only (chmod 600)", ex.Message);
    }

    [Theory]
    [InlineData("ab", "pinned_sha256: expected 64 lowercase hex digits")]
    [InlineData("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "pinned_sha256: expected 64 lowercase hex digits")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", "pinned_sha256: expected 64 lowercase hex digits")]
    public void A_bad_pin_is_refused(string pin, string message)
    {
        var path = WriteRaw(Credentials(pin: pin));

        Assert.Equal($"{path}: {message}", Assert.Throws<FormatException>(() => ProvisionerCredentials.Read(path)).Message);
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var path = WriteRaw(Credentials(privateKey: other.ExportPkcs8PrivateKeyPem()));

        var ex = Assert.Throws<FormatException>(() => ProvisionerCredentials.Read(path));

        Assert.StartsWith($"{path}: the certificate and private key do not form a client identity", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_http_provisioner_is_refused()
    {
        var path = WriteRaw(Credentials(provisioner: "http://provisioner.example/"));

        Assert.Equal($"{path}: provisioner: 'http://provisioner.example/' is not an https:// URL", Assert.Throws<FormatException>(() => ProvisionerCredentials.Read(path)).Message);
    }

    [Fact]
    public void Unknown_members_are_refused()
    {
        var path = Path.Combine(_directory, "extra.json");
        Credentials().Write(path);
        var json = File.ReadAllText(path);
        File.Delete(path);
        File.WriteAllText(path, json.Replace("\"name\"", "\"role\": \"host\", \"name\"", StringComparison.Ordinal));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.StartsWith($"{path}: not a credentials file: ", Assert.Throws<FormatException>(() => ProvisionerCredentials.Read(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pin_matches_only_the_certificates_key()
    {
        var pin = ProvisionerPin.Of(_server);
        using var sameKey = ReissueWithSameKey(_server);
        using var otherKey = ProvisioningPki.ServerCertificate();

        Assert.Equal(ProvisionerPin.Size, pin.Length);
        Assert.Equal(SHA256.HashData(_server.PublicKey.ExportSubjectPublicKeyInfo()), pin);
        Assert.True(ProvisionerPin.Matches(_server, pin));
        Assert.True(ProvisionerPin.Matches(sameKey, pin));
        Assert.False(ProvisionerPin.Matches(otherKey, pin));
        Assert.False(ProvisionerPin.Matches(null, pin));
        Assert.False(ProvisionerPin.Matches(_server, pin.AsSpan(1)));
    }

    private static X509Certificate2 ReissueWithSameKey(X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey()!;
        var request = new CertificateRequest("CN=renewed", key, HashAlgorithmName.SHA384);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private ProvisionerCredentials Credentials(string? pin = null, string? privateKey = null, string provisioner = "https://provisioner.example:8443/") => new()
    {
        Provisioner = new Uri(provisioner),
        PinnedSha256 = pin ?? Convert.ToHexStringLower(ProvisionerPin.Of(_server)),
        Name = "host-a",
        Certificate = _host.ExportCertificatePem(),
        PrivateKey = privateKey ?? ProvisioningPki.PrivateKeyPem(_host),
    };

    // Write does not check what it writes; Read does.
    private string WriteRaw(ProvisionerCredentials credentials)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():n}.json");
        credentials.Write(path);
        return path;
    }
}

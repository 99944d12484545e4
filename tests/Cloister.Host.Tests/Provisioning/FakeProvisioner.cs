using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Host.Tests.Provisioning;

/// <summary>
/// The provisioner's host API as docs/provisioning.md specifies it, over real HTTPS: <c>POST /v1/tokens</c> with a host
/// client certificate issued by its client CA (OU <c>host</c>, not revoked) → a signed <see cref="ProvisioningToken"/>.
/// </summary>
internal sealed class FakeProvisioner : IAsyncDisposable
{
    public const string Deployment = "payments";

    private readonly ECDsa _tokenKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly MiniHttpsServer _server;

    public FakeProvisioner()
    {
        TlsCertificate = ProvisioningPki.ServerCertificate();
        ClientCa = ProvisioningPki.CertificateAuthority("client CA");
        _server = new MiniHttpsServer(TlsCertificate, Handle, requestClientCertificate: true);
    }

    public X509Certificate2 TlsCertificate { get; }

    public X509Certificate2 ClientCa { get; }

    public Uri Url => _server.Url;

    public int Port => _server.Port;

    /// <summary>Hosts whose certificates are refused (by CN).</summary>
    public ConcurrentDictionary<string, bool> Revoked { get; } = new();

    /// <summary>Every token issued, in order.</summary>
    public ConcurrentQueue<string> Issued { get; } = new();

    public MiniHttpsServer Server => _server;

    /// <summary>Credentials for a host, as <c>cloister provisioner host add</c> writes them (pinned to this provisioner unless <paramref name="pin"/> says otherwise).</summary>
    public ProvisionerCredentials HostCredentials(string name = "host-a", X509Certificate2? issuer = null, byte[]? pin = null)
    {
        using var certificate = ProvisioningPki.ClientCertificate(issuer ?? ClientCa, name, "host");
        return new ProvisionerCredentials
        {
            Provisioner = Url,
            PinnedSha256 = Convert.ToHexStringLower(pin ?? ProvisionerPin.Of(TlsCertificate)),
            Name = name,
            Certificate = certificate.ExportCertificatePem(),
            PrivateKey = ProvisioningPki.PrivateKeyPem(certificate),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        TlsCertificate.Dispose();
        ClientCa.Dispose();
        _tokenKey.Dispose();
    }

    private (int Status, byte[] Body) Handle(MiniHttpRequest request)
    {
        if (request is not { Method: "POST", Path: ProvisioningProtocol.TokensPath })
        {
            return Error(404, "no such endpoint");
        }

        if (request.ClientCertificate is not { } client || !ProvisioningPki.ChainsTo(client, ClientCa) || Attribute(client, "2.5.4.11") != "host")
        {
            return Error(403, "a host certificate is required");
        }

        var host = client.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (Revoked.ContainsKey(host))
        {
            return Error(403, $"host '{host}' is revoked");
        }

        var asked = JsonSerializer.Deserialize(request.Body, ProvisioningJson.Default.TokenRequest)!;
        if (asked.Deployment != Deployment)
        {
            return Error(404, $"no deployment '{asked.Deployment}'");
        }

        var token = ProvisioningToken.Issue(asked.Deployment, host, DateTimeOffset.UtcNow, ProvisioningProtocol.MaxTokenLifetime, _tokenKey);
        Issued.Enqueue(token.Text);
        return (200, JsonSerializer.SerializeToUtf8Bytes(new TokenResponse { Token = token.Text, ExpiresAt = token.ExpiresAt }, ProvisioningJson.Default.TokenResponse));
    }

    private static (int Status, byte[] Body) Error(int status, string error) =>
        (status, JsonSerializer.SerializeToUtf8Bytes(new ProvisioningError { Error = error }, ProvisioningJson.Default.ProvisioningError));

    private static string? Attribute(X509Certificate2 certificate, string oid) =>
        certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(name => name.GetSingleElementType().Value == oid)?.GetSingleElementValue();
}

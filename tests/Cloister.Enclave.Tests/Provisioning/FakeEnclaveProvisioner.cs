using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Documents;
using Cloister.Encryption.Keys;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Provisioning;

/// <summary>
/// The provisioner's enclave API over real HTTPS, as docs/provisioning.md specifies its wire: reads the
/// <see cref="ProvisionRequest"/>, checks that the document binds the token (<c>user_data</c>), and answers with
/// <see cref="Answer"/>, by default the deployment's CA, secrets and key ring sealed to the document's <c>public_key</c>.
/// Documents are decoded, not verified: verification is the real provisioner's, tested there.
/// </summary>
internal sealed class FakeEnclaveProvisioner : IAsyncDisposable
{
    public const string Deployment = "payments";

    private readonly MiniHttpsServer _server;

    public FakeEnclaveProvisioner(X509Certificate2? tlsCertificate = null)
    {
        TlsCertificate = tlsCertificate ?? ProvisioningPki.ServerCertificate();
        Root = ProvisioningPki.CertificateAuthority("provisioner root");
        Intermediate = ProvisioningPki.CertificateAuthority("deployment payments", Root);
        Key = DeploymentKey.Generate(1);
        Granted = new ProvisioningAnswer
        {
            Deployment = Deployment,
            CertificateAuthority = new ProvisionedCertificateAuthority
            {
                Certificate = Intermediate.ExportCertificatePem(),
                PrivateKey = ProvisioningPki.PrivateKeyPem(Intermediate),
                Chain = [Root.ExportCertificatePem()],
            },
            Secrets = [new ProvisionedSecret { Name = "API_KEY", Value = "tops3cret", Version = 3 }],
            Keys = new ProvisionedKeyRing
            {
                KeyId = KeyId.ToString(),
                CurrentVersion = 1,
                Versions = [new ProvisionedKey { Version = 1, PrivateKey = Key.ExportPrivateKey(), DataKey = Key.ExportDataKey() }],
            },
        };
        Answer = (request, document) => Seal(request, document.PublicKey!, Granted);
        _server = new MiniHttpsServer(TlsCertificate, Handle);
    }

    public X509Certificate2 TlsCertificate { get; }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Intermediate { get; }

    /// <summary>The deployment's key ring id.</summary>
    public DeploymentKeyId KeyId { get; } = DeploymentKeyId.New();

    /// <summary>The deployment's only key version, 1.</summary>
    public DeploymentKey Key { get; }

    /// <summary>The public half of <see cref="Key"/>, as <c>cloister keys show</c> gives it.</summary>
    public DeploymentPublicKey PublicKey => new(Deployment, KeyId, Key.Version, Key.PublicKey);

    /// <summary>The deployment's CA, secrets and keys, as a granted request receives them.</summary>
    public ProvisioningAnswer Granted { get; }

    /// <summary>What the provisioner answers a request whose document binds its token.</summary>
    public Func<ProvisionRequest, AttestationDocument, (int Status, byte[] Body)> Answer { get; set; }

    /// <summary>Every request that arrived, with its document decoded.</summary>
    public ConcurrentQueue<(ProvisionRequest Request, AttestationDocument Document)> Received { get; } = new();

    public MiniHttpsServer Server => _server;

    public ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken) => _server.ConnectAsync(cancellationToken);

    /// <summary>Seals <paramref name="answer"/> to <paramref name="publicKey"/> as a granted request's answer.</summary>
    public static (int Status, byte[] Body) Seal(ProvisionRequest request, byte[] publicKey, ProvisioningAnswer answer)
    {
        var sealedAnswer = ProvisioningEnvelope.Seal(
            JsonSerializer.SerializeToUtf8Bytes(answer, ProvisioningJson.Default.ProvisioningAnswer), publicKey, ProvisioningToken.HashOf(request.Token));
        return (200, JsonSerializer.SerializeToUtf8Bytes(new ProvisionResponse { Answer = sealedAnswer }, ProvisioningJson.Default.ProvisionResponse));
    }

    public static (int Status, byte[] Body) Error(int status, string error) =>
        (status, JsonSerializer.SerializeToUtf8Bytes(new ProvisioningError { Error = error }, ProvisioningJson.Default.ProvisioningError));

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        TlsCertificate.Dispose();
        Intermediate.Dispose();
        Root.Dispose();
        Key.Dispose();
    }

    private (int Status, byte[] Body) Handle(MiniHttpRequest http)
    {
        if (http is not { Method: "POST", Path: ProvisioningProtocol.ProvisionPath })
        {
            return Error(404, "no such endpoint");
        }

        var request = JsonSerializer.Deserialize(http.Body, ProvisioningJson.Default.ProvisionRequest)!;
        var document = AttestationDocumentDecoder.Decode(request.AttestationDocument).Document;
        Received.Enqueue((request, document));
        return document.UserData is { } userData && userData.AsSpan().SequenceEqual(ProvisioningToken.HashOf(request.Token))
            ? Answer(request, document)
            : Error(403, ProvisioningProtocol.Refused);
    }
}

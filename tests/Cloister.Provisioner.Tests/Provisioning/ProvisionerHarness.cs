using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.Identity;
using Cloister.Runtime.Provisioning;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary>
/// A provisioner started for real (HTTPS on a free loopback port, SQLite or PostgreSQL), a simulated Nitro root it is
/// configured to trust, an operator client from its <c>operator.json</c>, and helpers that play host and enclave.
/// </summary>
internal sealed class ProvisionerHarness : IAsyncDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly string _scratch;

    private ProvisionerHarness(RunningProvisioner running, FakeTimeProvider time, SimulatedNitroRoot root, string scratch)
    {
        Running = running;
        Time = time;
        Root = root;
        _scratch = scratch;
    }

    public RunningProvisioner Running { get; }

    public FakeTimeProvider Time { get; }

    public SimulatedNitroRoot Root { get; }

    public string ProvisionerDirectory => Path.Combine(_scratch, "provisioner");

    public string RootPemPath => Path.Combine(_scratch, "simulated-root.pem");

    public HttpClient Operator { get; private set; } = null!;

    public static async Task<ProvisionerHarness> StartAsync(string? database = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var scratch = Directory.CreateTempSubdirectory("cl-prov-").FullName;
        var directory = Path.Combine(scratch, "provisioner");
        ProvisionerIdentity.Create(directory, new Uri("https://127.0.0.1:8443"), time).Dispose();
        var root = SimulatedNitroRoot.Create(time);
        var rootPem = Path.Combine(scratch, "simulated-root.pem");
        await File.WriteAllTextAsync(rootPem, root.ExportCertificatePem());
        var running = await ProvisionerServer.StartAsync(new ProvisionerOptions
        {
            Directory = directory,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Database = database,
            AttestationRootPem = rootPem,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
        });
        var credentials = ProvisionerCredentials.Read(Path.Combine(directory, ProvisionerIdentity.OperatorCredentialsFile));
        var harness = new ProvisionerHarness(running, time, root, scratch);
        harness.Operator = harness.Client(credentials.ClientCertificate());
        return harness;
    }

    /// <summary>An HTTPS client that pins the provisioner's key and presents <paramref name="certificate"/>, if any.</summary>
    public HttpClient Client(X509Certificate2? certificate = null, Uri? provisioner = null)
    {
        var pin = Running.Pin.ToArray();
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => ProvisionerPin.Matches(presented, pin),
                ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
            },
        };
        if (certificate is not null)
        {
            _owned.Add(certificate);
        }

        var client = new HttpClient(handler) { BaseAddress = provisioner ?? Running.Url };
        _owned.Add(client);
        return client;
    }

    /// <summary>Adds a host through the operator API and returns a client with its certificate.</summary>
    public async Task<HttpClient> AddHostAsync(string name) => Client(await HostCertificateAsync(name));

    /// <summary>Adds a host through the operator API and returns its certificate with its key.</summary>
    public async Task<X509Certificate2> HostCertificateAsync(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var csr = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA384).CreateSigningRequestPem();
        using var response = await Operator.PostAsJsonAsync("/v1/hosts", new HostRequest { Name = name, Csr = csr }, OperatorJson.Default.HostRequest);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var issued = await response.Content.ReadFromJsonAsync(OperatorJson.Default.HostCertificate);
        using var pair = X509Certificate2.CreateFromPem(issued!.Certificate).CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(pair.Export(X509ContentType.Pkcs12), password: null);
        _owned.Add(certificate);
        return certificate;
    }

    /// <summary>Creates or updates a deployment through the operator API.</summary>
    public async Task<DeploymentView> DeployAsync(string name, IReadOnlyDictionary<int, byte[]> pcrs, bool allowDebug = false, params string[] hostnames)
    {
        var request = new DeploymentRequest
        {
            Hostnames = hostnames.Length == 0 ? [$"{name}.example.com"] : hostnames,
            PcrSet = pcrs.ToDictionary(p => $"PCR{p.Key}", p => Convert.ToHexStringLower(p.Value)),
            AllowDebug = allowDebug,
        };
        using var response = await Operator.PutAsJsonAsync($"/v1/deployments/{name}", request, OperatorJson.Default.DeploymentRequest);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(OperatorJson.Default.DeploymentView))!;
    }

    public async Task SetSecretAsync(string deployment, string name, string value)
    {
        using var response = await Operator.PutAsync($"/v1/deployments/{deployment}/secrets/{name}", new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(value)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static async Task<string> TokenAsync(HttpClient host, string deployment)
    {
        using var response = await host.PostAsJsonAsync(ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = deployment }, ProvisioningJson.Default.TokenRequest);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.TokenResponse))!.Token;
    }

    /// <summary>A software NSM (on the harness's clock) whose PCR0–2 are the given values.</summary>
    public SoftwareNsm Nsm(IReadOnlyDictionary<int, byte[]> pcrs, SimulatedNitroRoot? root = null)
    {
        var options = new SoftwareNsmOptions();
        foreach (var (index, value) in pcrs)
        {
            options.Pcrs[index] = value;
        }

        var nsm = new SoftwareNsm(root ?? Root, options, Time);
        _owned.Add(nsm);
        return nsm;
    }

    public static byte[] Document(SoftwareNsm nsm, byte[]? userData, byte[]? publicKey) =>
        Assert.IsType<AttestationResponse>(nsm.Process(new AttestationRequest(userData, RandomNumberGenerator.GetBytes(32), publicKey))).Document;

    public static Task<HttpResponseMessage> ProvisionAsync(HttpClient enclave, string deployment, string token, byte[] document) =>
        enclave.PostAsJsonAsync(
            ProvisioningProtocol.ProvisionPath,
            new ProvisionRequest { Deployment = deployment, Token = token, AttestationDocument = document },
            ProvisioningJson.Default.ProvisionRequest);

    public async Task<IReadOnlyList<AuditView>> AuditAsync()
    {
        var page = await Operator.GetFromJsonAsync("/v1/audit?after=0&limit=1000", OperatorJson.Default.AuditPage);
        return page!.Entries;
    }

    public static Dictionary<int, byte[]> RandomPcrs() =>
        new() { [0] = RandomNumberGenerator.GetBytes(48), [1] = RandomNumberGenerator.GetBytes(48), [2] = RandomNumberGenerator.GetBytes(48) };

    public static async Task<string?> ErrorOf(HttpResponseMessage response) =>
        JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(), ProvisioningJson.Default.ProvisioningError)?.Error;

    public async ValueTask DisposeAsync()
    {
        await Running.DisposeAsync();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        Root.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_scratch, recursive: true);
    }
}

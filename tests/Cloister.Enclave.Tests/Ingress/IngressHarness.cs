using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Verification;
using Cloister.Enclave.Ingress;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Vsock;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>
/// Attested ingress in process over the simulated vsock (Unix sockets in a temporary run directory), with a real software
/// NSM behind the simulator's NSM socket, a real Kestrel app, and a fake clock that drives rotation and the guard.
/// Clients connect to the port's socket file, write the host's PROXY v2 header, and then speak TLS; or, handing over, they
/// connect over TCP and the host's side of that connection is handed to the enclave whole, the header as its preamble.
/// </summary>
internal sealed class IngressHarness : IAsyncDisposable
{
    public const uint EnclaveCid = 16;
    public const int IngressPort = 8443;
    public const string Hostname = "app.example";

    /// <summary>The client the host saw, as its PROXY header names it unless a test says otherwise.</summary>
    public static readonly IPEndPoint DefaultClient = new(IPAddress.Parse("203.0.113.7"), 51000);

    private static readonly IPEndPoint s_hostV4 = new(IPAddress.Parse("10.0.0.1"), 443);
    private static readonly IPEndPoint s_hostV6 = new(IPAddress.Parse("2001:db8::1"), 443);

    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-ingress-").FullName;
    private readonly SoftwareNsmSocket _nsm;
    private readonly VsockTransport _hostTransport;
    private readonly ManualResetEventSlim _nsmOpen = new(initialState: true);
    private TaskCompletionSource? _nsmBlocked;
    private int _nsmRequests;
    private NsmSocketDevice? _device;
    private AttestedIngress? _ingress;
    private bool _handOver;

    private IngressHarness()
    {
        Time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _nsm = new SoftwareNsmSocket(Path.Combine(_directory, "nsm.sock"), Time, AnswerNsm);
        Transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _directory, LocalCid = EnclaveCid });
        _hostTransport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _directory, LocalCid = VsockEndpoint.HostCid });
    }

    public FakeTimeProvider Time { get; }

    public SimulatedNitroRoot Root => _nsm.Root;

    public VsockTransport Transport { get; }

    public EchoApp App { get; private set; } = null!;

    public AttestedIngress Ingress => _ingress!;

    public AttestedPort Port => Ingress.Ports[0];

    /// <summary>Every line the ingress logged.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>How many requests the NSM has answered.</summary>
    public int NsmRequests => Volatile.Read(ref _nsmRequests);

    /// <summary>Whether the NSM answers every request with <see cref="NsmErrorCode.InternalError"/>.</summary>
    public bool NsmFails { get; set; }

    public static async Task<IngressHarness> StartAsync(IssuanceLimits? limits = null, TimeSpan? appResponseTimeout = null, int? appPort = null, IReadOnlyList<string>? hostnames = null, bool nsmFails = false, bool handOver = false)
    {
        var harness = new IngressHarness { NsmFails = nsmFails, _handOver = handOver };
        try
        {
            harness.App = await EchoApp.StartAsync();
            harness._device = await harness._nsm.ConnectAsync();
            var port = new IngressPort { Port = IngressPort, AppPort = appPort ?? harness.App.Port, Tls = IngressTls.Attested, Hostnames = hostnames ?? [Hostname] };
            var options = new AttestedIngressOptions
            {
                Nsm = harness._device,
                TimeProvider = harness.Time,
                Limits = limits ?? new IssuanceLimits(),
                AppResponseTimeout = appResponseTimeout ?? TimeSpan.FromSeconds(100),
            };
            harness._ingress = await AttestedIngress.StartAsync(harness.Transport, [port], options, line =>
            {
                harness.Logs.Enqueue(line);
                return Task.CompletedTask;
            }, CancellationToken.None);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>Holds the NSM's next answer until <see cref="ReleaseNsm"/>; the task completes once a request is being held.</summary>
    public Task BlockNsm()
    {
        _nsmBlocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _nsmOpen.Reset();
        return _nsmBlocked.Task;
    }

    public void ReleaseNsm() => _nsmOpen.Set();

    /// <summary>
    /// A connection to the ingress port, its PROXY v2 header (naming <paramref name="client"/>) already written or, handing
    /// over, passed as its preamble, followed there by <paramref name="preambleTrailer"/>.
    /// </summary>
    public async Task<NetworkStream> ConnectAsync(IPEndPoint? client = null, bool proxyHeader = true, byte[]? preambleTrailer = null)
    {
        client ??= DefaultClient;
        var header = new byte[ProxyProtocol.MaxHeaderLength];
        var length = proxyHeader ? ProxyProtocol.Write(new ProxyHeader(client, client.AddressFamily == AddressFamily.InterNetworkV6 ? s_hostV6 : s_hostV4), header) : 0;
        byte[] preamble = [.. header.AsSpan(0, length), .. preambleTrailer ?? []];
        var enclavePort = new VsockEndpoint(EnclaveCid, IngressPort);
        if (_handOver)
        {
            return await HandedOverConnection.OpenAsync(_hostTransport, enclavePort, preamble);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(VsockTransport.GetSimulatedSocketPath(_directory, enclavePort)));
            var stream = new NetworkStream(socket, ownsSocket: true);
            await stream.WriteAsync(preamble);
            return stream;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A TLS handshake with <paramref name="serverName"/> as SNI; returns the stream and the certificate served.</summary>
    public async Task<(SslStream Stream, X509Certificate2 Certificate)> HandshakeAsync(string serverName)
    {
        var tls = new SslStream(await ConnectAsync());
        X509Certificate2? served = null;
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                // What the tests check is the attestation inside the certificate, not a chain to a CA.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return served is not null;
                },
            });
            return (tls, served!);
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    /// <summary>An HTTP client whose every connection goes to the ingress port with a PROXY header naming <paramref name="client"/>.</summary>
    public HttpClient CreateClient(IPEndPoint? client = null, Version? version = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, _) => await ConnectAsync(client),
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null },
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://{Hostname}:{IngressPort}"),
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public AttestationVerificationResult Verify(byte[] document, AttestationPolicy policy) =>
        new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [Root.Certificate], TimeProvider = Time }).Verify(document, policy);

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after a generous bound rather than hanging it.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var waited = 0; !condition(); waited += 20)
        {
            Assert.True(waited < 30_000, $"gave up waiting for {what}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _nsmOpen.Set();
        if (_ingress is not null)
        {
            await _ingress.DisposeAsync();
        }

        if (App is not null)
        {
            await App.DisposeAsync();
        }

        _device?.Dispose();
        await _nsm.DisposeAsync();
        _nsmOpen.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private byte[] AnswerNsm(ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, byte[]> process)
    {
        if (!_nsmOpen.IsSet)
        {
            _nsmBlocked?.TrySetResult();
            _nsmOpen.Wait();
        }

        Interlocked.Increment(ref _nsmRequests);
        return NsmFails ? NsmCodec.Encode(new NsmErrorResponse(NsmErrorCode.InternalError)) : process(request);
    }
}

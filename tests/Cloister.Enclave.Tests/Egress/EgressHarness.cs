using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Enclave.Egress;
using Cloister.Host.Egress;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Egress;

/// <summary>
/// Both ends of egress in one process over the simulated vsock: the enclave's proxy on 127.0.0.1 (a free port) and the
/// host's forwarder on (3, 7002), in a fresh run directory.
/// </summary>
internal sealed class EgressHarness : IAsyncDisposable
{
    public const uint EnclaveCid = 16;

    private readonly TempRunDirectory _run;
    private readonly CancellationTokenSource _stop = new();
    private VsockListener? _listener;
    private Task? _forwarding;

    private EgressHarness(EgressProxy proxy, TempRunDirectory run, ConcurrentQueue<string> log)
    {
        Proxy = proxy;
        _run = run;
        Log = log;
    }

    public EgressProxy Proxy { get; }

    /// <summary>Both ends' log lines, as the supervisor and the host would route them.</summary>
    public ConcurrentQueue<string> Log { get; }

    public Task Forwarding => _forwarding ?? Task.CompletedTask;

    /// <summary>
    /// Starts both ends; the forwarder resolves the tests' names through <paramref name="names"/> (no hosts file). The
    /// proxy takes its limits and timeouts from <paramref name="limits"/>, on a free port and logging here.
    /// </summary>
    public static async Task<EgressHarness> StartAsync(
        string[] allow,
        string[]? deny = null,
        bool allowPrivate = true,
        IReadOnlyDictionary<string, IPAddress>? names = null,
        EgressProxyOptions? limits = null,
        bool withForwarder = true)
    {
        limits ??= new EgressProxyOptions();
        var log = new ConcurrentQueue<string>();
        var run = new TempRunDirectory();
        var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = run.Path, LocalCid = EnclaveCid });
        var proxy = await EgressProxy.StartAsync(
            EgressPolicy.Parse(allow, deny ?? []),
            enclave,
            new EgressProxyOptions
            {
                Port = 0,
                MaxHeadBytes = limits.MaxHeadBytes,
                HeadTimeout = limits.HeadTimeout,
                HostTimeout = limits.HostTimeout,
                IdleTimeout = limits.IdleTimeout,
                MaxTunnels = limits.MaxTunnels,
                OverloadLogInterval = limits.OverloadLogInterval,
                Log = e => log.Enqueue(e.ToString()),
            },
            CancellationToken.None);
        var harness = new EgressHarness(proxy, run, log);
        if (withForwarder)
        {
            var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = run.Path, LocalCid = VsockEndpoint.HostCid });
            harness._listener = await host.ListenAsync(VsockEndpoint.EgressPort);
            var options = new EgressForwarderOptions
            {
                AllowPrivateDestinations = allowPrivate,
                Log = e => log.Enqueue(e.ToString()),
                Resolve = names is null ? Dns.GetHostAddressesAsync : (name, _) => Task.FromResult(names.TryGetValue(name, out var address) ? new[] { address } : throw new SocketException((int)SocketError.HostNotFound)),
            };
            harness._forwarding = new EgressForwarder(options).RunAsync(harness._listener, harness._stop.Token);
        }

        return harness;
    }

    /// <summary>An HTTP client that goes through the proxy and trusts exactly the origin's self-signed certificate.</summary>
    public HttpClient CreateClient(string pinnedCertificateHash) => new(new SocketsHttpHandler
    {
        Proxy = new WebProxy($"http://{Proxy.LocalEndpoint}"),
        UseProxy = true,
        MaxConnectionsPerServer = 256,
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == pinnedCertificateHash },
    });

    /// <summary>Sends raw bytes to the proxy and reads until it closes: for requests no HTTP client would send.</summary>
    public async Task<string> SendRawAsync(string request, bool halfClose = false)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(Proxy.LocalEndpoint);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        if (halfClose)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        using var reader = new StreamReader(stream, Encoding.Latin1);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>Opens a tunnel with a raw CONNECT and reads the proxy's 200; the caller owns the connection.</summary>
    public async Task<TcpClient> OpenTunnelAsync(string target)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(Proxy.LocalEndpoint);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT {target} HTTP/1.1\r\n\r\n"));
            var established = "HTTP/1.1 200 Connection established\r\n\r\n";
            var buffer = new byte[established.Length];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await stream.ReadExactlyAsync(buffer, timeout.Token);
            Assert.Equal(established, Encoding.ASCII.GetString(buffer));
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The proxy's own answers: the status line, a plain-text body with its exact length, and the promise to close (the
    /// raw reader read until the proxy did close).
    /// </summary>
    public static void AssertProxyAnswer(string response, string status, string body)
    {
        var expected = $"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body) + 1}\r\nConnection: close\r\n\r\n{body}\n";
        Assert.Equal(expected, response);
    }

    /// <summary>Waits for a log line that is written after the client already has its answer (a relay's end).</summary>
    public async Task<string> WaitForLogAsync(Func<string, bool> match)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Log.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    public string SocketPath(uint cid, uint port) => VsockTransport.GetSimulatedSocketPath(_run.Path, new VsockEndpoint(cid, port));

    public async Task StopForwarderAsync()
    {
        await _stop.CancelAsync();
        await Forwarding;
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await StopForwarderAsync();
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _stop.Dispose();
        _run.Dispose();
    }
}

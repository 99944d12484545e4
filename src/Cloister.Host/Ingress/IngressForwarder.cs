using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Ingress;

/// <summary>
/// One ingress port: a TCP listener on the host whose every connection is piped, byte for byte, to the enclave's
/// vsock port (passthrough), with half-close in both directions. Each vsock connection starts
/// with a PROXY protocol v2 header naming the client and the address it reached, which the enclave strips.
/// Where the transport can (the simulator), a connection is handed over to the enclave whole instead, the header as its
/// preamble: the enclave reads the same bytes, and each request is spared this process's hop. A port that takes no
/// hand-overs gets its connections relayed. Failed connections are reported throttled: a client resetting thousands of
/// connections costs one line per 10 s, with a count of the rest.
/// </summary>
public sealed class IngressForwarder : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly VsockTransport _transport;
    private readonly LogThrottle? _connectionFailed;
    private volatile bool _disposed;

    private IngressForwarder(Socket listener, VsockTransport transport, uint enclavePort, bool relay, LogThrottle? connectionFailed)
    {
        _listener = listener;
        _transport = transport;
        EnclavePort = enclavePort;
        HandsOver = transport.CanHandOver && !relay;
        _connectionFailed = connectionFailed;
        LocalEndpoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>The address the host listens on (with the port the system chose when 0 was asked).</summary>
    public IPEndPoint LocalEndpoint { get; }

    /// <summary>The enclave's vsock port each connection goes to.</summary>
    public uint EnclavePort { get; }

    /// <summary>Whether connections are handed over to the enclave whole rather than relayed.</summary>
    public bool HandsOver { get; }

    /// <summary>Binds and listens at once, before the enclave starts, so a taken port fails before anything runs.</summary>
    /// <param name="listenOn">The host address and port.</param>
    /// <param name="transport">The host's vsock transport.</param>
    /// <param name="enclavePort">The enclave's vsock port.</param>
    /// <param name="relay">Relay every connection, as on Nitro, even where the transport could hand it over.</param>
    /// <param name="connectionFailed">
    /// Told, in one line, why a connection could not be piped, throttled (<see cref="LogThrottle"/>); may be <see langword="null"/>.
    /// </param>
    /// <param name="timeProvider">The throttle's clock; the system's when <see langword="null"/>.</param>
    /// <returns>The listening forwarder; <see cref="RunAsync"/> serves it.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The port is taken or privileged.</exception>
    public static IngressForwarder Listen(IPEndPoint listenOn, VsockTransport transport, uint enclavePort, bool relay = false, Action<string>? connectionFailed = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(listenOn);
        ArgumentNullException.ThrowIfNull(transport);
        var socket = new Socket(listenOn.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(listenOn);
            socket.Listen(512);
            var throttle = connectionFailed is null ? null : LogThrottle.ForAction(connectionFailed, LogThrottle.DefaultInterval, timeProvider ?? TimeProvider.System);
            return new IngressForwarder(socket, transport, enclavePort, relay, throttle);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            var hint = ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied
                ? $"; publish it on another port with --publish HOSTPORT:{enclavePort}"
                : "";
            throw new IOException($"ingress: cannot listen on {listenOn}: {ex.Message}{hint}", ex);
        }
    }

    /// <summary>Accepts and pipes connections until <paramref name="cancellationToken"/> is cancelled, then closes them all.</summary>
    /// <param name="enclaveCid">The enclave's CID, known once it started.</param>
    /// <param name="cancellationToken">Stops the forwarder.</param>
    /// <returns>A task that completes once every connection is closed.</returns>
    public async Task RunAsync(uint enclaveCid, CancellationToken cancellationToken)
    {
        var target = new VsockEndpoint(enclaveCid, EnclavePort);
        try
        {
            await AcceptLoop.RunAsync(_listener.AcceptAsync, (client, token) => PipeAsync(client, target, token), cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException && (_disposed || cancellationToken.IsCancellationRequested))
        {
            // The listener was closed as the run ended; the caller may dispose before or after it cancels.
        }
    }

    /// <summary>
    /// Stops listening and reports the failures the throttle still holds; connections being piped end when
    /// <see cref="RunAsync"/> is cancelled.
    /// </summary>
    /// <returns>A task that completes once that report is written.</returns>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _listener.Dispose();
        if (_connectionFailed is not null)
        {
            await _connectionFailed.DisposeAsync();
        }
    }

    private async Task PipeAsync(Socket client, VsockEndpoint target, CancellationToken cancellationToken)
    {
        using (client)
        {
            client.NoDelay = true;
            try
            {
                if (HandsOver && await TryHandOverAsync(client, target, cancellationToken))
                {
                    return;
                }

                await using var vsock = await _transport.ConnectAsync(target, cancellationToken);
                await vsock.WriteAsync(ProxyHeaderOf(client), cancellationToken);
                var result = await DuplexRelay.RunAsync(RelayEnd.ForSocket(client), RelayEnd.ForVsock(vsock), cancellationToken);
                if (result.Faulted && !cancellationToken.IsCancellationRequested)
                {
                    await ReportAsync($"ingress {LocalEndpoint} → vsock {target}: the connection broke ({result})");
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                await ReportAsync($"ingress {LocalEndpoint} → vsock {target}: {ex.Message}");
            }
        }
    }

    private Task ReportAsync(string line) => _connectionFailed?.WriteAsync(line) ?? Task.CompletedTask;

    // An enclave that listens on the vsock port but takes no hand-overs (a simulated enclave without Cloister's supervisor,
    // speaking the Unix-socket simulation itself) still gets the connection, relayed.
    private async Task<bool> TryHandOverAsync(Socket client, VsockEndpoint target, CancellationToken cancellationToken)
    {
        try
        {
            await _transport.HandOverAsync(target, client, ProxyHeaderOf(client), cancellationToken);
            return true;
        }
        catch (VsockConnectException)
        {
            return false;
        }
    }

    private static byte[] ProxyHeaderOf(Socket client)
    {
        Span<byte> header = stackalloc byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(new ProxyHeader((IPEndPoint)client.RemoteEndPoint!, (IPEndPoint)client.LocalEndPoint!), header);
        return header[..length].ToArray();
    }
}

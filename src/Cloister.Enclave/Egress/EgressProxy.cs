using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Cloister.Enclave.Connections;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Egress;

/// <summary>
/// The app's only way out of the enclave: an HTTP/1.1 forward proxy on 127.0.0.1:3128 that applies the manifest's egress
/// policy and hands each allowed connection to the host over vsock (3, 7002).
/// </summary>
/// <remarks>
/// <para><c>CONNECT host:port</c> opens a tunnel for HTTPS or any TCP protocol. An absolute-form plain HTTP request
/// (<c>GET http://host/path</c>) is forwarded in origin form with <c>Connection: close</c>, and the response is relayed
/// untouched until the origin closes: one request per connection, so the proxy never has to parse a response or frame
/// a body, and a second request on the same connection can only ever reach the host the first one was checked for.
/// Clients see the origin close and open a new connection for the next request.</para>
/// <para>The policy is matched against the host exactly as the app named it, before any resolution; the host's forwarder
/// then refuses private and link-local destinations on its own.</para>
/// </remarks>
internal sealed class EgressProxy : IAsyncDisposable
{
    // After an error response, read (and drop) what the app is still sending for a moment, so closing does not reset the
    // connection and destroy the response before the app has read it.
    private static readonly TimeSpan s_lingerTime = TimeSpan.FromSeconds(1);
    private const int LingerBytes = 64 * 1024;
    private static readonly TimeSpan s_acceptBackoff = TimeSpan.FromMilliseconds(100);

    private readonly EgressPolicy _policy;
    private readonly VsockTransport _transport;
    private readonly EgressProxyOptions _options;
    private readonly Socket _listener;
    private readonly ConnectionLimit _limit;
    private readonly RelayOptions _relay;
    private readonly LogThrottle _overloadLog;
    private readonly CancellationTokenSource _stop;
    private readonly Task _accepting;

    private EgressProxy(EgressPolicy policy, VsockTransport transport, EgressProxyOptions options, Socket listener, CancellationToken cancellationToken)
    {
        _policy = policy;
        _transport = transport;
        _options = options;
        _listener = listener;
        LocalEndpoint = (IPEndPoint)listener.LocalEndPoint!;
        _limit = new ConnectionLimit(options.MaxTunnels);
        _relay = new RelayOptions { IdleTimeout = options.IdleTimeout };
        _overloadLog = LogThrottle.ForAction(
            request => Log(EgressProxyOutcome.Overloaded, request, $"the proxy serves at most {_limit.MaxOpen} connections at once"),
            options.OverloadLogInterval,
            TimeProvider.System);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _accepting = AcceptLoop.RunAsync(token => _limit.AcceptAsync(AcceptAsync, token), ServeAsync, _stop.Token);
    }

    /// <summary>The address the proxy listens on.</summary>
    public IPEndPoint LocalEndpoint { get; }

    /// <summary>How many connections the proxy serves now (those being refused over the limit not counted).</summary>
    public int OpenConnections => _limit.Open;

    /// <summary>The variables that point the app's HTTP clients at the proxy, in both spellings clients look for.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> GetAppEnvironment(IPEndPoint proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var url = $"http://{proxy}";
        const string Local = "localhost,127.0.0.1";
        return
        [
            new("HTTP_PROXY", url), new("HTTPS_PROXY", url), new("http_proxy", url), new("https_proxy", url),
            new("NO_PROXY", Local), new("no_proxy", Local),
        ];
    }

    /// <summary>Binds the proxy's port and starts serving.</summary>
    /// <param name="policy">The manifest's egress policy.</param>
    /// <param name="transport">The enclave's vsock transport, to reach the host's forwarder.</param>
    /// <param name="options">Where to listen and the limits.</param>
    /// <param name="cancellationToken">Stops the proxy, as <see cref="DisposeAsync"/> does.</param>
    /// <returns>The running proxy.</returns>
    /// <exception cref="SocketException">The port cannot be bound (e.g. already in use).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit is less than 1, a timeout not positive (the idle timeout may be infinite), or the log interval not positive.</exception>
    public static Task<EgressProxy> StartAsync(EgressPolicy policy, VsockTransport transport, EgressProxyOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTunnels, 1, nameof(options.MaxTunnels));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HeadTimeout, TimeSpan.Zero, nameof(options.HeadTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HostTimeout, TimeSpan.Zero, nameof(options.HostTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.OverloadLogInterval, TimeSpan.Zero, nameof(options.OverloadLogInterval));
        RelayOptions.ValidateIdleTimeout(options.IdleTimeout, nameof(options.IdleTimeout));
        cancellationToken.ThrowIfCancellationRequested();
        var listener = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(options.Address, options.Port));
            listener.Listen(512);
            return Task.FromResult(new EgressProxy(policy, transport, options, listener, cancellationToken));
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Stops accepting, closes every tunnel and forwarded request, and waits until they are gone.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (ObjectDisposedException)
        {
            // The listener was closed under a pending accept: that is how the loop ends here.
        }

        await _overloadLog.DisposeAsync();
        _limit.Dispose();
        _stop.Dispose();
    }

    // The app's misbehaviour (a client that resets before accept) or a full descriptor table must not end egress for
    // the enclave's whole life: log it, pause a moment when out of descriptors, and accept again.
    private async ValueTask<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await _listener.AcceptAsync(cancellationToken);
            }
            catch (SocketException) when (cancellationToken.IsCancellationRequested)
            {
                // DisposeAsync cancels, then closes the listener under the pending accept: that is a stop, not a failure.
                throw new OperationCanceledException(cancellationToken);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                Log(EgressProxyOutcome.Rejected, "?", $"accept failed: {ex.Message}");
                if (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    await Task.Delay(s_acceptBackoff, cancellationToken);
                }
            }
        }
    }

    private async Task ServeAsync((Socket Client, ConnectionSlot Slot) accepted, CancellationToken cancellationToken)
    {
        var (client, slot) = accepted;
        using var slotHeld = slot;
        client.NoDelay = true;
        await using var stream = new NetworkStream(client, ownsSocket: true);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            using var request = await ReadRequestAsync(stream, reader, cancellationToken);
            if (request is not null)
            {
                await ForwardAsync(request, slot.IsAdmitted, stream, reader, cancellationToken);
            }
        }
        catch (IOException)
        {
            // The app hung up mid-request: there is nobody to answer.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task<ProxyRequest?> ReadRequestAsync(NetworkStream stream, PipeReader reader, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HeadTimeout);
        try
        {
            return await ProxyRequest.ReadAsync(reader, _options.MaxHeadBytes, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await RejectAsync(stream, reader, "?", 408, $"no complete request head within {Seconds(_options.HeadTimeout)}", EgressProxyOutcome.Rejected, cancellationToken);
        }
        catch (ProxyRequestException ex)
        {
            await RejectAsync(stream, reader, "?", ex.StatusCode, ex.Message, EgressProxyOutcome.Rejected, cancellationToken);
        }

        return null;
    }

    // A request over the limit is still judged by the policy first: one that could never be a tunnel gets its 403.
    private async Task ForwardAsync(ProxyRequest request, bool admitted, NetworkStream stream, PipeReader reader, CancellationToken cancellationToken)
    {
        var what = $"{request.Method} {request.Target}";
        switch (_policy.Evaluate(request.Target.Destination, request.Target.Port, out var rule))
        {
            case EgressVerdict.Denied:
                await RejectAsync(stream, reader, what, 403, $"egress to {request.Target} is denied by rule '{rule}'", EgressProxyOutcome.Denied, cancellationToken);
                return;
            case EgressVerdict.NotAllowed:
                var why = _policy.Allow.Count == 0 ? "the manifest allows no egress at all" : "no allow rule matches";
                await RejectAsync(stream, reader, what, 403, $"egress to {request.Target} is not allowed: {why}", EgressProxyOutcome.NotAllowed, cancellationToken);
                return;
        }

        if (!admitted)
        {
            await RefuseOverloadedAsync(request, stream, reader, what, cancellationToken);
            return;
        }

        Log(EgressProxyOutcome.Allowed, what, $"rule '{rule}'");
        await using var upstream = await OpenUpstreamAsync(request, stream, reader, what, cancellationToken);
        if (upstream is null)
        {
            return;
        }

        var upstreamReader = PipeReader.Create(upstream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var answer = await EgressResponse.ReadAsync(upstreamReader, cancellationToken);
            if (!answer.IsSuccess)
            {
                await RejectAsync(stream, reader, what, 502, $"the host refused egress to {request.Target}: {answer.Reason}", EgressProxyOutcome.HostFailed, cancellationToken);
                return;
            }

            if (request.IsConnect)
            {
                await stream.WriteAsync(ProxyResponse.ConnectionEstablished, cancellationToken);
            }
            else
            {
                await upstream.WriteAsync(request.ForwardedHead, cancellationToken);
            }

            var result = await DuplexRelay.RunAsync(RelayEnd.ForSocket(stream.Socket, reader), RelayEnd.ForVsock(upstream, upstreamReader), _relay, cancellationToken);
            if (result.IdledOut)
            {
                Log(EgressProxyOutcome.Idle, what, $"closed after {Seconds(_options.IdleTimeout)} without traffic: {result}");
            }
            else
            {
                Log(EgressProxyOutcome.Closed, what, result.ToString());
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            await RejectAsync(stream, reader, what, 502, $"the host's egress forwarder answered badly: {ex.Message}", EgressProxyOutcome.HostFailed, cancellationToken);
        }
        finally
        {
            await upstreamReader.CompleteAsync();
        }
    }

    // Connects to the host's forwarder and sends the request line; null once the app has been told why not.
    private async Task<VsockStream?> OpenUpstreamAsync(ProxyRequest request, NetworkStream stream, PipeReader reader, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HostTimeout);
        VsockStream? upstream = null;
        try
        {
            upstream = await _transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.EgressPort), timeout.Token);
            await request.Target.WriteAsync(upstream, timeout.Token);
            return upstream;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await RejectAsync(stream, reader, what, 504, $"the host's egress forwarder did not take the connection within {Seconds(_options.HostTimeout)}", EgressProxyOutcome.HostFailed, cancellationToken);
        }
        catch (IOException ex)
        {
            await RejectAsync(stream, reader, what, 502, $"the host's egress forwarder is unreachable: {ex.Message}", EgressProxyOutcome.HostFailed, cancellationToken);
        }

        if (upstream is not null)
        {
            await upstream.DisposeAsync();
        }

        return null;
    }

    // Refusals come as fast as the app can open connections: the log gets a line per interval, counting the rest.
    private async Task RefuseOverloadedAsync(ProxyRequest request, NetworkStream stream, PipeReader reader, string what, CancellationToken cancellationToken)
    {
        var message = string.Create(CultureInfo.InvariantCulture, $"egress to {request.Target} is refused: the proxy serves at most {_limit.MaxOpen} connections at once");
        await _overloadLog.WriteAsync(what);
        await AnswerAsync(stream, reader, 503, message, cancellationToken);
    }

    private async Task RejectAsync(NetworkStream stream, PipeReader reader, string what, int statusCode, string message, EgressProxyOutcome outcome, CancellationToken cancellationToken)
    {
        Log(outcome, what, message);
        await AnswerAsync(stream, reader, statusCode, message, cancellationToken);
    }

    private static async Task AnswerAsync(NetworkStream stream, PipeReader reader, int statusCode, string message, CancellationToken cancellationToken)
    {
        try
        {
            await ProxyResponse.WriteErrorAsync(stream, statusCode, message, cancellationToken);
            stream.Socket.Shutdown(SocketShutdown.Send);
            await PipeDrain.DiscardAsync(reader, LingerBytes, s_lingerTime, Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The app is gone already; the decision is logged.
        }
    }

    private void Log(EgressProxyOutcome outcome, string request, string detail) =>
        _options.Log?.Invoke(new EgressProxyEvent(outcome, request, detail));

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s");
}

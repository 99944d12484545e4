using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Cloister.Client.Http;

/// <summary>
/// Bounds every network step of a <see cref="SocketsHttpHandler"/> by <see cref="ClientTimeouts"/> and reports a
/// timeout as a <see cref="NetworkTimeoutException"/> naming the step: the connect timeout covers TCP and TLS (a
/// connect callback records when TCP is up, so the two can be told apart), and every read and write of an
/// established connection must make progress within <see cref="ClientTimeouts.Response"/>.
/// </summary>
internal sealed class TimeoutHandler : DelegatingHandler
{
    private readonly ClientTimeouts _timeouts;
    private readonly ConditionalWeakTable<HttpRequestMessage, object> _tcpConnected = [];

    /// <summary>Takes over <paramref name="inner"/>'s connect timeout and wraps its connect callback and plaintext filter.</summary>
    public TimeoutHandler(SocketsHttpHandler inner, ClientTimeouts timeouts)
        : base(inner)
    {
        _timeouts = timeouts;
        inner.ConnectTimeout = timeouts.Connect;
        var connect = inner.ConnectCallback ?? ConnectTcpAsync;
        inner.ConnectCallback = async (context, cancellationToken) =>
        {
            var stream = await connect(context, cancellationToken).ConfigureAwait(false);
            _tcpConnected.AddOrUpdate(context.InitialRequestMessage, this);
            return stream;
        };
        var filter = inner.PlaintextStreamFilter;
        inner.PlaintextStreamFilter = async (context, cancellationToken) => new ProgressTimeoutStream(
            filter is null ? context.PlaintextStream : await filter(context, cancellationToken).ConfigureAwait(false),
            timeouts.Response,
            Endpoint(context.InitialRequestMessage));
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Translate(ex, request) is { } timeout)
        {
            throw timeout;
        }
    }

    private static string Endpoint(HttpRequestMessage request) =>
        NetworkTimeoutException.FormatEndpoint(request.RequestUri!.IdnHost, request.RequestUri.Port);

    /// <summary>What SocketsHttpHandler does without a callback: a dual-mode socket with Nagle off.</summary>
    private static async ValueTask<Stream> ConnectTcpAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private NetworkTimeoutException? Translate(Exception exception, HttpRequestMessage request)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is NetworkTimeoutException stalled)
            {
                // Until SendAsync returns, a read that stalls is the wait for the response headers.
                return stalled.Step == NetworkStep.ResponseBody
                    ? new NetworkTimeoutException(NetworkStep.ResponseHeaders, stalled.Endpoint, stalled.Timeout, exception)
                    : stalled;
            }
        }

        // SocketsHttpHandler reports its ConnectTimeout as a cancellation caused by a TimeoutException.
        return exception is OperationCanceledException { InnerException: TimeoutException }
            ? new NetworkTimeoutException(
                _tcpConnected.TryGetValue(request, out _) ? NetworkStep.TlsHandshake : NetworkStep.Connect, Endpoint(request), _timeouts.Connect, exception)
            : null;
    }
}

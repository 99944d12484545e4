using System.IO.Pipelines;
using Cloister.Enclave.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// A connection middleware inside TLS, as nginx's lingering close: when the HTTP layer ends a connection in the middle of
/// a request (Kestrel answered 431 to a 1 MB header or 414 to a 1 MB request line, 400 to garbage, and closes), reads and
/// discards what the client still sends for a short while before the connection closes. Closing at once resets the
/// connection under a client that writes its whole request before it reads (curl, HttpClient, browsers): its write fails
/// and it never reads the answer waiting for it. (Passthrough answers anyway: its relay reads the client's bytes until
/// they are all sent.) A connection that ends between requests — the client closed, the keep-alive timeout, an answer
/// delimited by the close — closes at once.
/// </summary>
internal sealed class LingeringClose(ConnectionDelegate next)
{
    /// <summary>The longest a connection lingers after the HTTP layer is done with it.</summary>
    public static readonly TimeSpan MaxLinger = TimeSpan.FromSeconds(5);

    /// <summary>A client silent this long has sent what it had: the connection closes.</summary>
    public static readonly TimeSpan MaxSilence = TimeSpan.FromSeconds(1);

    /// <summary>The most bytes discarded: past this, the client is not finishing a request but streaming.</summary>
    public const long MaxDiscarded = 16 * 1024 * 1024;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var transport = connection.Transport;
        var input = new WatchedInput(transport.Input);
        connection.Transport = new DuplexPipe(input, transport.Output);
        connection.Features.Set(input);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }

        if (input.InRequest)
        {
            await DiscardAsync(transport.Input, connection.ConnectionClosed);
        }
    }

    /// <summary>Called by the request handler as a request ends: what the HTTP layer reads after it is the next request's.</summary>
    public static void RequestEnded(HttpContext context) => context.Features.Get<WatchedInput>()?.EndRequest();

    private static async Task DiscardAsync(PipeReader input, CancellationToken connectionClosed)
    {
        try
        {
            await PipeDrain.DiscardAsync(input, MaxDiscarded, MaxLinger, MaxSilence, connectionClosed);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionResetException or InvalidOperationException)
        {
            // The client gone, or a read the HTTP layer left pending: the connection closes now.
        }
    }

    /// <summary>
    /// The transport's input as the HTTP layer sees it. It notes whether the client has sent bytes since the last request
    /// ended, and completing it leaves the transport's input open for the linger.
    /// </summary>
    private sealed class WatchedInput(PipeReader inner) : PipeReader
    {
        private volatile bool _inRequest;

        /// <summary>Whether bytes of a request have come that no handled request has answered, and the client is still sending.</summary>
        public bool InRequest => _inRequest;

        public void EndRequest() => _inRequest = false;

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null)
        {
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var reading = inner.ReadAsync(cancellationToken);
            if (!reading.IsCompletedSuccessfully)
            {
                return NoteAsync(reading);
            }

            Note(reading.Result);
            return reading;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            Note(result);
            return true;
        }

        private async ValueTask<ReadResult> NoteAsync(ValueTask<ReadResult> reading)
        {
            var result = await reading;
            Note(result);
            return result;
        }

        // A client that has closed its side is not sending any more: nothing to linger for.
        private void Note(ReadResult result) => _inRequest = !result.IsCompleted && (_inRequest || !result.Buffer.IsEmpty);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}

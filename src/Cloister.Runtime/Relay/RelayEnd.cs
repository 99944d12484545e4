using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Cloister.Runtime.Vsock;

namespace Cloister.Runtime.Relay;

/// <summary>
/// One side of a relayed connection: its connected socket, and the bytes it already sent that a protocol reader read
/// ahead of a handshake line (they are relayed first).
/// </summary>
public sealed class RelayEnd
{
    private RelayEnd(Socket socket, ReadOnlyMemory<byte> readAhead)
    {
        Socket = socket;
        ReadAhead = readAhead;
    }

    internal Socket Socket { get; }

    internal ReadOnlyMemory<byte> ReadAhead { get; }

    /// <summary>A TCP (or Unix) socket's side.</summary>
    /// <param name="socket">The connected socket; the relay reads and writes it directly and shuts down its sending half at the end.</param>
    /// <param name="readAhead">
    /// A reader over <paramref name="socket"/> that may hold bytes read past a handshake; what it holds now is taken (and
    /// the reader advanced past it) to be relayed first. The caller still completes the reader.
    /// </param>
    /// <returns>The side.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    public static RelayEnd ForSocket(Socket socket, PipeReader? readAhead = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return new RelayEnd(socket, Drain(readAhead));
    }

    /// <summary>A vsock connection's side.</summary>
    /// <param name="stream">
    /// The vsock stream; the relay uses its socket directly and ends its writes at the end. What the stream has not returned
    /// of its <see cref="VsockStream.UnreadPreamble"/> is relayed first, after what <paramref name="readAhead"/> holds.
    /// </param>
    /// <param name="readAhead">A reader over <paramref name="stream"/> whose buffered bytes are relayed first, as for <see cref="ForSocket"/>.</param>
    /// <returns>The side.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    public static RelayEnd ForVsock(VsockStream stream, PipeReader? readAhead = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffered = Drain(readAhead);
        if (stream.UnreadPreamble.IsEmpty)
        {
            return new RelayEnd(stream.Socket, buffered);
        }

        byte[] first = [.. buffered.Span, .. stream.UnreadPreamble.Span];
        return new RelayEnd(stream.Socket, first);
    }

    private static ReadOnlyMemory<byte> Drain(PipeReader? reader)
    {
        if (reader is null || !reader.TryRead(out var result))
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var bytes = result.Buffer.ToArray();
        reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }
}

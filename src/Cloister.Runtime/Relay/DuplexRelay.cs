using System.Buffers;
using System.Globalization;
using System.Net.Sockets;

namespace Cloister.Runtime.Relay;

/// <summary>How much a finished relay carried each way.</summary>
/// <param name="FirstToSecond">Bytes read from the first side and written to the second.</param>
/// <param name="SecondToFirst">Bytes read from the second side and written to the first.</param>
/// <param name="Faulted">Whether a side failed (reset, broken pipe) or the relay was cancelled, rather than both ending cleanly.</param>
/// <param name="IdledOut">
/// Whether the relay carried nothing for its <see cref="RelayOptions.IdleTimeout"/> and ended both sides itself (a clean
/// end, not <see cref="Faulted"/>).
/// </param>
public readonly record struct RelayResult(long FirstToSecond, long SecondToFirst, bool Faulted, bool IdledOut = false)
{
    /// <summary>
    /// The result for a log line: <c>N bytes forward, M bytes back</c>, and <c>, ended abruptly</c> when
    /// <see cref="Faulted"/>; a caller that sets an idle timeout says itself that it ended one.
    /// </summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{FirstToSecond} bytes forward, {SecondToFirst} bytes back{(Faulted ? ", ended abruptly" : "")}");
}

/// <summary>
/// Copies bytes both ways between two connections with TCP's half-close: when one side ends its sending half, the other
/// side's sending half is ended too and the opposite direction keeps flowing until it ends as well.
/// </summary>
/// <remarks>
/// Each direction receives into a pooled buffer and sends it straight out on the other socket: no stream or pipe layers,
/// no allocation per read, one await per receive and per send. A direction waits for its side to become readable with a
/// zero-byte receive and holds no buffer while it waits, so an idle relay costs its sockets and a few small objects, not
/// two buffers. A failure in either direction (or cancellation) stops both: a relay with one dead side is only a leak.
/// </remarks>
public static class DuplexRelay
{
    /// <summary>
    /// The variable that makes .NET's socket engine on Linux run completions on its epoll threads instead of handing each
    /// one to the thread pool (read once, when the process first waits on a socket). A relay does no blocking work in a
    /// completion, and the hand-off costs more than the relaying: processes whose hot path is relaying set it to <c>1</c>.
    /// </summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The buffer a direction rents while its bytes are moving: large enough that a bulk transfer moves in few system calls.</summary>
    public const int BufferSize = 16 * 1024;

    /// <summary>Relays with <see cref="RelayOptions.Default"/>: no idle timeout.</summary>
    /// <param name="first">One side.</param>
    /// <param name="second">The other side.</param>
    /// <param name="cancellationToken">Stops the relay.</param>
    /// <returns>What was carried; the caller still owns, and disposes, both connections.</returns>
    /// <exception cref="ArgumentNullException">A side is <see langword="null"/>.</exception>
    public static Task<RelayResult> RunAsync(RelayEnd first, RelayEnd second, CancellationToken cancellationToken) =>
        RunAsync(first, second, RelayOptions.Default, cancellationToken);

    /// <summary>
    /// Relays until both directions have ended, one side has failed, the relay has been idle for
    /// <see cref="RelayOptions.IdleTimeout"/>, or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="first">One side.</param>
    /// <param name="second">The other side.</param>
    /// <param name="options">The idle timeout and the buffer pool.</param>
    /// <param name="cancellationToken">Stops the relay.</param>
    /// <returns>What was carried; the caller still owns, and disposes, both connections.</returns>
    /// <exception cref="ArgumentNullException">A side, <paramref name="options"/> or one of its members is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The idle timeout is neither positive nor infinite.</exception>
    public static async Task<RelayResult> RunAsync(RelayEnd first, RelayEnd second, RelayOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.BufferPool, nameof(options.BufferPool));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        RelayOptions.ValidateIdleTimeout(options.IdleTimeout, nameof(options));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long sent, received;
        bool clean;
        var idle = IdleTimer.Start(options.TimeProvider, options.IdleTimeout, stop);
        await using (idle)
        {
            var forward = CopyAsync(first, second, options.BufferPool, idle, stop);
            var backward = CopyAsync(second, first, options.BufferPool, idle, stop);
            (sent, var sentClean) = await forward;
            (received, var receivedClean) = await backward;
            clean = sentClean && receivedClean;
        }

        if (idle is { Expired: true } && !cancellationToken.IsCancellationRequested)
        {
            // Both peers get end of stream, as if the other had closed, rather than a reset when the caller closes.
            EndSending(first);
            EndSending(second);
            return new RelayResult(sent, received, Faulted: false, IdledOut: true);
        }

        return new RelayResult(sent, received, !clean || cancellationToken.IsCancellationRequested);
    }

    private static async Task<(long Bytes, bool Clean)> CopyAsync(RelayEnd from, RelayEnd to, ArrayPool<byte> pool, IdleTimer? idle, CancellationTokenSource stop)
    {
        byte[]? buffer = null;
        long total = 0;
        try
        {
            await SendAsync(to.Socket, from.ReadAhead, stop.Token);
            total += from.ReadAhead.Length;
            // A read that filled the buffer probably left more behind: read again at once rather than ask whether it did.
            var full = false;
            while (true)
            {
                if (!full)
                {
                    // The zero-byte receive completes when the side is readable (or closed) without taking a byte; only a
                    // direction that has to wait gives its buffer back for the wait, one that is busy keeps it.
                    var readable = from.Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, stop.Token);
                    if (readable.IsCompletedSuccessfully)
                    {
                        _ = readable.Result;
                    }
                    else
                    {
                        Return(pool, ref buffer);
                        await readable;
                    }
                }

                buffer ??= pool.Rent(BufferSize);
                var read = await from.Socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                if (read == 0)
                {
                    break;
                }

                // Before the send: once the peer has the bytes, the relay has already counted them as activity.
                idle?.Touch();
                await SendAsync(to.Socket, buffer.AsMemory(0, read), stop.Token);
                total += read;
                full = read == buffer.Length;
            }

            to.Socket.Shutdown(SocketShutdown.Send);
            return (total, true);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await stop.CancelAsync();
            return (total, false);
        }
        finally
        {
            Return(pool, ref buffer);
        }
    }

    private static void Return(ArrayPool<byte> pool, ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            pool.Return(buffer);
            buffer = null;
        }
    }

    private static void EndSending(RelayEnd end)
    {
        try
        {
            end.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The peer is gone already: there is nobody left to tell.
        }
    }

    private static async ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[await socket.SendAsync(bytes, SocketFlags.None, cancellationToken)..];
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Net.Sockets;

namespace Cloister.Runtime.Relay;

/// <summary>How much a finished relay carried each way.</summary>
/// <param name="FirstToSecond">Bytes read from the first side and written to the second.</param>
/// <param name="SecondToFirst">Bytes read from the second side and written to the first.</param>
/// <param name="Faulted">Whether a side failed (reset, broken pipe) or the relay was cancelled, rather than both ending cleanly.</param>
public readonly record struct RelayResult(long FirstToSecond, long SecondToFirst, bool Faulted)
{
    /// <summary>The result for a log line: <c>N bytes forward, M bytes back</c>, and <c>, ended abruptly</c> when <see cref="Faulted"/>.</summary>
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
/// Each direction receives into one pooled buffer, held for the relay's life, and sends it straight out on the other
/// socket: no stream or pipe layers, no allocation per read, one await per receive and per send. A failure in either
/// direction (or cancellation) stops both: a relay with one dead side is only a leak.
/// </remarks>
public static class DuplexRelay
{
    /// <summary>
    /// The variable that makes .NET's socket engine on Linux run completions on its epoll threads instead of handing each
    /// one to the thread pool (read once, when the process first waits on a socket). A relay does no blocking work in a
    /// completion, and the hand-off costs more than the relaying: processes whose hot path is relaying set it to <c>1</c>.
    /// </summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    // Large enough that a bulk transfer moves in few system calls, small enough to hold two per idle tunnel.
    private const int BufferSize = 16 * 1024;

    /// <summary>Relays until both directions have ended, one side has failed, or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="first">One side.</param>
    /// <param name="second">The other side.</param>
    /// <param name="cancellationToken">Stops the relay.</param>
    /// <returns>What was carried; the caller still owns, and disposes, both connections.</returns>
    /// <exception cref="ArgumentNullException">A side is <see langword="null"/>.</exception>
    public static async Task<RelayResult> RunAsync(RelayEnd first, RelayEnd second, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var forward = CopyAsync(first, second, stop);
        var backward = CopyAsync(second, first, stop);
        var (sent, sentClean) = await forward;
        var (received, receivedClean) = await backward;
        return new RelayResult(sent, received, !(sentClean && receivedClean) || cancellationToken.IsCancellationRequested);
    }

    private static async Task<(long Bytes, bool Clean)> CopyAsync(RelayEnd from, RelayEnd to, CancellationTokenSource stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            await SendAsync(to.Socket, from.ReadAhead, stop.Token);
            total += from.ReadAhead.Length;
            int read;
            while ((read = await from.Socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token)) > 0)
            {
                await SendAsync(to.Socket, buffer.AsMemory(0, read), stop.Token);
                total += read;
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
            ArrayPool<byte>.Shared.Return(buffer);
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

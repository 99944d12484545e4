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
/// The copy loop reads the pipe's pooled segments and writes them straight out, so a long-lived tunnel allocates nothing
/// per read. A failure in either direction (or cancellation) stops both: a relay with one dead side is only a leak.
/// </remarks>
public static class DuplexRelay
{
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
        long total = 0;
        try
        {
            while (true)
            {
                var result = await from.Input.ReadAsync(stop.Token);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await to.Output.WriteAsync(segment, stop.Token);
                }

                total += buffer.Length;
                from.Input.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            await to.Output.FlushAsync(stop.Token);
            to.CompleteWrites();
            return (total, true);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await stop.CancelAsync();
            return (total, false);
        }
    }
}

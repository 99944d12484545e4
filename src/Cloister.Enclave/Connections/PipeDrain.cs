using System.IO.Pipelines;

namespace Cloister.Enclave.Connections;

/// <summary>
/// Reads and discards what a peer still sends after its answer is decided, so that closing does not reset the
/// connection under a client that writes its whole request before it reads (and so never reads the answer). Bounded
/// in bytes, in time and, optionally, in silence: the egress proxy's refusals and attested ingress's lingering close
/// both drain through here.
/// </summary>
internal static class PipeDrain
{
    /// <summary>Discards <paramref name="input"/> until it ends or a bound is reached.</summary>
    /// <param name="input">What the peer sends.</param>
    /// <param name="maxBytes">The most bytes discarded.</param>
    /// <param name="maxTime">The longest the drain lasts.</param>
    /// <param name="maxSilence">The longest the peer may send nothing, or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="cancellationToken">Ends the drain with <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the drain ends; the bounds end it without an exception.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task DiscardAsync(PipeReader input, long maxBytes, TimeSpan maxTime, TimeSpan maxSilence, CancellationToken cancellationToken)
    {
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linger.CancelAfter(maxTime);
        long discarded = 0;
        try
        {
            while (discarded < maxBytes)
            {
                using var silence = CancellationTokenSource.CreateLinkedTokenSource(linger.Token);
                silence.CancelAfter(maxSilence);
                var result = await input.ReadAsync(silence.Token);
                discarded += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A bound, not the caller: the drain is over.
        }
    }
}

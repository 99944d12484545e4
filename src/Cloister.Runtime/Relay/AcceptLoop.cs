using System.Collections.Concurrent;

namespace Cloister.Runtime.Relay;

/// <summary>
/// Accepts connections one after another and serves each on its own task, so a slow connection never holds up the
/// next accept; stopping it stops and awaits every connection still being served.
/// </summary>
public static class AcceptLoop
{
    /// <summary>Accepts and serves until <paramref name="cancellationToken"/> is cancelled or accepting fails.</summary>
    /// <typeparam name="TConnection">The accepted connection's type.</typeparam>
    /// <param name="accept">Waits for the next connection.</param>
    /// <param name="serve">
    /// Serves one connection and disposes it, handling its own failures; it sees the loop's token, cancelled when the loop
    /// stops. An exception other than that cancellation surfaces from this method once the loop stops.
    /// </param>
    /// <param name="cancellationToken">Stops accepting and cancels every connection being served.</param>
    /// <returns>A task that completes once the loop has stopped and every connection's <paramref name="serve"/> has returned.</returns>
    /// <exception cref="ArgumentNullException">A delegate is <see langword="null"/>.</exception>
    /// <exception cref="IOException">Accepting failed; the connections being served were cancelled and awaited first.</exception>
    /// <exception cref="ObjectDisposedException">The listener behind <paramref name="accept"/> was disposed while the loop ran.</exception>
    public static async Task RunAsync<TConnection>(
        Func<CancellationToken, ValueTask<TConnection>> accept,
        Func<TConnection, CancellationToken, Task> serve,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accept);
        ArgumentNullException.ThrowIfNull(serve);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var serving = new ConcurrentDictionary<long, Task>();
        long next = 0;
        try
        {
            while (true)
            {
                TConnection connection;
                try
                {
                    connection = await accept(stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }

                var id = next++;
                var task = ServeAsync(connection);
                serving[id] = task;
                // Removal is chained after the insertion, so a connection that ends at once cannot leave a stale entry.
                _ = task.ContinueWith(finished => serving.TryRemove(id, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(serving.Values);
        }

        async Task ServeAsync(TConnection connection)
        {
            // Yield first so the accept loop never runs a connection's synchronous prefix.
            await Task.Yield();
            try
            {
                await serve(connection, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }
}

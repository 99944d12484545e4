using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// Accepts connections on one host vsock port and hands each to a reader until its peer closes it. The supervisor
/// stops accepting when the enclave is gone, lets the open connections drain, then cancels what is left.
/// </summary>
internal sealed class ConnectionService(VsockListener listener, Func<VsockStream, CancellationToken, Task> serve, Action<string> failed)
{
    private readonly List<Task> _connections = [];
    private readonly Lock _lock = new();

    public async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            VsockStream stream;
            try
            {
                stream = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException)
            {
                return;
            }

            lock (_lock)
            {
                _connections.RemoveAll(task => task.IsCompleted);
                _connections.Add(ServeAsync(stream, cancellationToken));
            }
        }
    }

    /// <summary>Waits for the connections being served to end by themselves, at most <paramref name="limit"/>.</summary>
    public Task DrainAsync(TimeSpan limit)
    {
        Task all;
        lock (_lock)
        {
            all = Task.WhenAll(_connections);
        }

        return Task.WhenAny(all, Task.Delay(limit));
    }

    private async Task ServeAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        await Task.Yield();
        await using (stream)
        {
            try
            {
                await serve(stream, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
            {
                failed($"vsock port {listener.LocalEndpoint.Port}: {ex.Message}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The run is over.
            }
        }
    }
}

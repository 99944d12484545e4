using System.Net.Sockets;

namespace Cloister.Host.Supervision;

/// <summary>
/// Accepts connections one after another and serves each on its own task, keeping the tasks so that the owner can
/// wait for the open connections (all of them, or a bounded drain) when accepting stops.
/// </summary>
/// <typeparam name="T">The accepted connection.</typeparam>
internal sealed class ConnectionSet<T>(Func<CancellationToken, ValueTask<T>> accept, Func<T, CancellationToken, Task> serve)
{
    private readonly List<Task> _connections = [];
    private readonly Lock _lock = new();

    /// <summary>Accepts until the token is cancelled or the listener is closed.</summary>
    public async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            T connection;
            try
            {
                connection = await accept(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
            {
                return;
            }

            lock (_lock)
            {
                _connections.RemoveAll(task => task.IsCompleted);
                _connections.Add(ServeAsync(connection, cancellationToken));
            }
        }
    }

    /// <summary>Completes when every connection accepted so far has been served.</summary>
    public Task WhenAllServed()
    {
        lock (_lock)
        {
            return Task.WhenAll(_connections);
        }
    }

    private async Task ServeAsync(T connection, CancellationToken cancellationToken)
    {
        // Leave the accept loop at once; the connection's work continues on the pool.
        await Task.Yield();
        await serve(connection, cancellationToken);
    }
}

using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// Accepts connections on one host vsock port and hands each to a reader until its peer closes it. The supervisor
/// stops accepting when the enclave is gone, lets the open connections drain, then cancels what is left.
/// </summary>
internal sealed class ConnectionService
{
    private readonly VsockListener _listener;
    private readonly Func<VsockStream, CancellationToken, Task> _read;
    private readonly Action<string> _failed;
    private readonly List<Task> _served = [];
    private readonly Lock _lock = new();

    public ConnectionService(VsockListener listener, Func<VsockStream, CancellationToken, Task> read, Action<string> failed)
    {
        _listener = listener;
        _read = read;
        _failed = failed;
    }

    public Task AcceptAsync(CancellationToken cancellationToken) => AcceptLoop.RunAsync(_listener.AcceptAsync, Track, cancellationToken);

    /// <summary>Waits for the connections being served to end by themselves, at most <paramref name="limit"/>.</summary>
    public Task DrainAsync(TimeSpan limit)
    {
        Task all;
        lock (_lock)
        {
            all = Task.WhenAll(_served);
        }

        return Task.WhenAny(all, Task.Delay(limit));
    }

    private Task Track(VsockStream stream, CancellationToken cancellationToken)
    {
        var serving = ServeAsync(stream, cancellationToken);
        lock (_lock)
        {
            _served.RemoveAll(task => task.IsCompleted);
            _served.Add(serving);
        }

        return serving;
    }

    private async Task ServeAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        await using (stream)
        {
            try
            {
                await _read(stream, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
            {
                _failed($"vsock port {_listener.LocalEndpoint.Port}: {ex.Message}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The run is over.
            }
        }
    }
}

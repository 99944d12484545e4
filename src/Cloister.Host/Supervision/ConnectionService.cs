using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// Accepts connections on one host vsock port and hands each to a reader until its peer closes it. The supervisor
/// stops accepting when the enclave is gone, lets the open connections drain, then cancels what is left.
/// </summary>
internal sealed class ConnectionService
{
    // How often a drain looks whether every connection the enclave made has reached Track.
    private static readonly TimeSpan s_settleInterval = TimeSpan.FromMilliseconds(5);

    private readonly VsockListener _listener;
    private readonly Func<VsockStream, CancellationToken, Task> _read;
    private readonly Action<string> _failed;
    private readonly List<Task> _served = [];
    private readonly Lock _lock = new();
    private long _tracked;

    public ConnectionService(VsockListener listener, Func<VsockStream, CancellationToken, Task> read, Action<string> failed)
    {
        _listener = listener;
        _read = read;
        _failed = failed;
    }

    public Task AcceptAsync(CancellationToken cancellationToken) => AcceptLoop.RunAsync(_listener.AcceptAsync, Track, cancellationToken);

    /// <summary>
    /// Waits, at most <paramref name="limit"/> in all, for every connection the enclave made to be served and end by
    /// itself. The enclave is gone, but connections it made and wrote to may still wait in the listener or be on their
    /// way from it to <see cref="Track"/>: those are waited for first, or their bytes would be dropped with the listener.
    /// </summary>
    public async Task DrainAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            // The listener is read first: a connection it hands on meanwhile is counted as queued before it is tracked.
            while (!(_listener.TryCountQueued(out var queued) && Interlocked.Read(ref _tracked) == queued))
            {
                await Task.Delay(s_settleInterval, timeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Task all;
        lock (_lock)
        {
            all = Task.WhenAll(_served);
        }

        await Task.WhenAny(all, Task.Delay(Timeout.Infinite, timeout.Token));
    }

    private Task Track(VsockStream stream, CancellationToken cancellationToken)
    {
        var serving = ServeAsync(stream, cancellationToken);
        lock (_lock)
        {
            _served.RemoveAll(task => task.IsCompleted);
            _served.Add(serving);
            Interlocked.Increment(ref _tracked);
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

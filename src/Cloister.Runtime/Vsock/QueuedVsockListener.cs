using System.Threading.Channels;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// A listener whose connections are accepted ahead, by loops of its own, into one bounded queue that
/// <see cref="AcceptAsync"/> takes from: one long-lived loop per socket, however many connections come, and any number of
/// sockets behind one port (the simulation's stream and hand-over sockets).
/// </summary>
internal abstract class QueuedVsockListener : VsockListener
{
    // Connections accepted but not yet taken; beyond this the kernel's backlog holds the rest.
    private const int QueueLength = 64;

    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<VsockStream> _accepted = Channel.CreateBounded<VsockStream>(QueueLength);
    private int _disposed;

    private protected QueuedVsockListener(VsockEndpoint localEndpoint)
        : base(localEndpoint)
    {
    }

    /// <summary>An accept that fails for a moment (EMFILE under a flood of connections) is retried after this pause.</summary>
    private protected static TimeSpan AcceptRetryDelay { get; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Cancelled when the listener is disposed: the accept loops end.</summary>
    private protected CancellationToken Stopping => _stopping.Token;

    /// <inheritdoc/>
    public override async ValueTask<VsockStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(VsockListener), $"the listener on vsock {LocalEndpoint} was disposed");
        }
    }

    /// <summary>Queues an accepted connection, waiting while the queue is full; once the listener stops, disposes it instead.</summary>
    /// <returns>A task that completes once the connection is queued or disposed.</returns>
    private protected async Task PublishAsync(VsockStream stream)
    {
        try
        {
            await _accepted.Writer.WriteAsync(stream, _stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            await stream.DisposeAsync();
        }
    }

    /// <summary>Ends the accept loops (<see cref="Stopping"/> is already cancelled) and releases the sockets, once.</summary>
    /// <returns>A task that completes when no loop runs any more.</returns>
    private protected abstract ValueTask StopAcceptingAsync();

    private protected sealed override async ValueTask DisposeCoreAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        await StopAcceptingAsync();
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var unclaimed))
        {
            await unclaimed.DisposeAsync();
        }

        _stopping.Dispose();
    }
}

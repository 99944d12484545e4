namespace Cloister.Runtime.Vsock;

/// <summary>A bound, listening vsock port. Disposing it stops listening; streams already accepted stay open.</summary>
public abstract class VsockListener : IAsyncDisposable
{
    private protected VsockListener(VsockEndpoint localEndpoint)
    {
        LocalEndpoint = localEndpoint;
    }

    /// <summary>The address it listens on.</summary>
    public VsockEndpoint LocalEndpoint { get; }

    /// <summary>Waits for the next connection.</summary>
    /// <param name="cancellationToken">Cancels the wait; the listener stays usable.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="ObjectDisposedException">The listener is disposed.</exception>
    /// <exception cref="IOException">Accepting failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public abstract ValueTask<VsockStream> AcceptAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the listening socket.</summary>
    /// <returns>A task that completes when it is released.</returns>
    private protected abstract ValueTask DisposeCoreAsync();
}

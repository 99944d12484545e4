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

    /// <summary>
    /// Waits for the next connection. A failure to accept one (EMFILE under a flood) is retried behind this call rather
    /// than thrown: the listener keeps listening.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait; the listener stays usable.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="ObjectDisposedException">The listener is disposed.</exception>
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

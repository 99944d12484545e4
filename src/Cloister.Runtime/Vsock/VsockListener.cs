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

    /// <summary>
    /// Whether every connection made to this port so far is queued for <see cref="AcceptAsync"/>: none waits in the
    /// kernel's backlog (or, simulated, as a handed-over descriptor) or is being accepted. Once no peer can connect any
    /// more (its enclave is gone), a consumer that has taken <paramref name="queued"/> connections after a true answer has
    /// taken every one.
    /// </summary>
    /// <param name="queued">How many connections the listener has queued since it started; 0 when the answer is false.</param>
    /// <returns>Whether no connection made so far is still on its way to the queue.</returns>
    /// <exception cref="ObjectDisposedException">The listener is disposed.</exception>
    public abstract bool TryCountQueued(out long queued);

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

using Cloister.Runtime.Relay;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// One served vsock port: connections are accepted one after another and each is served on its own task
/// (<see cref="AcceptLoop"/>) until the server is disposed, which stops accepting and cancels and awaits every connection
/// still being served.
/// </summary>
public sealed class VsockServer : IAsyncDisposable
{
    private readonly VsockListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _serving;

    private VsockServer(VsockListener listener, Func<VsockStream, CancellationToken, Task> serve)
    {
        _listener = listener;
        _serving = AcceptLoop.RunAsync(listener.AcceptAsync, serve, _stopping.Token);
    }

    /// <summary>The address it serves.</summary>
    public VsockEndpoint LocalEndpoint => _listener.LocalEndpoint;

    /// <summary>Listens on a port of this side's own CID and serves it until disposed.</summary>
    /// <param name="transport">The transport.</param>
    /// <param name="port">The port.</param>
    /// <param name="serve">Serves one connection and disposes it, handling its own failures; its token is cancelled when the server is disposed.</param>
    /// <param name="cancellationToken">Cancels binding.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The port is in use or cannot be bound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<VsockServer> StartAsync(VsockTransport transport, uint port, Func<VsockStream, CancellationToken, Task> serve, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(serve);
        return new VsockServer(await transport.ListenAsync(port, cancellationToken), serve);
    }

    /// <summary>Stops accepting, cancels the connections being served and waits for them.</summary>
    /// <returns>A task that completes once every connection's handler has returned.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _listener.DisposeAsync();
        try
        {
            await _serving;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The listener closed under its accept loop: that is how serving ends.
        }

        _stopping.Dispose();
    }
}

using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Host;

/// <summary>
/// Serves the host's graceful stop requests (<see cref="StopRequest"/>) on vsock port <see cref="VsockEndpoint.StopPort"/>:
/// on Nitro the host has no other way to give the app its SIGTERM, and the simulator uses the same path.
/// </summary>
internal sealed class StopChannel : IAsyncDisposable
{
    private readonly VsockListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _serving;

    private StopChannel(VsockListener listener, Action stop)
    {
        _listener = listener;
        _serving = StopRequest.ServeAsync(listener, stop, _stopping.Token);
    }

    /// <summary>Listens and serves until disposed.</summary>
    /// <exception cref="IOException">The port cannot be bound.</exception>
    public static async Task<StopChannel> StartAsync(VsockTransport transport, Action stop, CancellationToken cancellationToken) =>
        new(await transport.ListenAsync(VsockEndpoint.StopPort, cancellationToken), stop);

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

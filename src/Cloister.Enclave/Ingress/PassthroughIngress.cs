using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// <c>tls: passthrough</c> ingress: for each manifest port P, listens on our vsock port P (the host pipes its TCP :P
/// there) and pipes every connection, bytes untouched and in both directions with half-close, to the app on
/// 127.0.0.1:app_port. A failed connection is logged and closed; it never takes the supervisor down.
/// </summary>
internal sealed class PassthroughIngress : IAsyncDisposable
{
    private const int ChunkSize = 64 * 1024;

    private readonly List<VsockListener> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Func<string, Task> _log;

    private PassthroughIngress(Func<string, Task> log)
    {
        _log = log;
    }

    /// <summary>Starts listening on every port; a port that cannot be bound fails the start.</summary>
    /// <exception cref="IOException">A vsock port could not be bound.</exception>
    public static async Task<PassthroughIngress> StartAsync(VsockTransport transport, IEnumerable<IngressPort> ports, Func<string, Task> log)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(ports);
        var ingress = new PassthroughIngress(log);
        try
        {
            foreach (var port in ports)
            {
                var listener = await transport.ListenAsync((uint)port.Port);
                ingress._listeners.Add(listener);
                ingress._acceptLoops.Add(ingress.AcceptAsync(listener, port.AppPort));
            }
        }
        catch
        {
            await ingress.DisposeAsync();
            throw;
        }

        return ingress;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }

        await Task.WhenAll(_acceptLoops);
        _stopping.Dispose();
    }

    private async Task AcceptAsync(VsockListener listener, int appPort)
    {
        while (!_stopping.IsCancellationRequested)
        {
            VsockStream client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (IOException ex)
            {
                await _log($"ingress {listener.LocalEndpoint.Port}: {ex.Message}");
                continue;
            }

            _ = PipeAsync(client, listener.LocalEndpoint.Port, appPort);
        }
    }

    private async Task PipeAsync(VsockStream client, uint port, int appPort)
    {
        await using (client)
        {
            using var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await app.ConnectAsync(new IPEndPoint(IPAddress.Loopback, appPort), _stopping.Token);
                await using var appStream = new NetworkStream(app, ownsSocket: false);
                await Task.WhenAll(
                    CopyThenCompleteAsync(client, appStream, () => app.Shutdown(SocketShutdown.Send)),
                    CopyThenCompleteAsync(appStream, client, client.CompleteWrites));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                await _log($"ingress {port} -> 127.0.0.1:{appPort}: {ex.Message}");
            }
        }
    }

    private async Task CopyThenCompleteAsync(Stream source, Stream destination, Action completeWrites)
    {
        await source.CopyToAsync(destination, ChunkSize, _stopping.Token);
        completeWrites();
    }
}

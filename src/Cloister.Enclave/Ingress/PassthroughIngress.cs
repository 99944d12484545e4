using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// <c>tls: passthrough</c> ingress: for each manifest port P, listens on our vsock port P (the host pipes its TCP :P
/// there), strips the PROXY v2 header the host puts first, and pipes every connection, the client's bytes untouched
/// and in both directions with half-close, to the app on 127.0.0.1:app_port. A failed connection (a malformed or late
/// header included) is logged and closed; it never takes the supervisor down.
/// </summary>
internal sealed class PassthroughIngress : IAsyncDisposable
{
    private static readonly StreamPipeReaderOptions s_leaveOpen = new(leaveOpen: true);

    private readonly List<VsockServer> _servers = [];
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
                ingress._servers.Add(await VsockServer.StartAsync(transport, (uint)port.Port, (client, token) => ingress.PipeAsync(client, port, token)));
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
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    private async Task PipeAsync(VsockStream client, IngressPort port, CancellationToken cancellationToken)
    {
        await using (client)
        {
            var input = PipeReader.Create(client, s_leaveOpen);
            RelayEnd enclaveSide;
            try
            {
                if (await ProxyHeaderReader.TryReadAsync(input, port.Port, _log, cancellationToken) is null)
                {
                    return;
                }

                // The header's read may have taken the client's first bytes too: the relay sends them on first.
                enclaveSide = RelayEnd.ForVsock(client, input);
            }
            finally
            {
                await input.CompleteAsync();
            }

            using var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await app.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port.AppPort), cancellationToken);
                var result = await DuplexRelay.RunAsync(enclaveSide, RelayEnd.ForSocket(app), cancellationToken);
                if (result.Faulted && !cancellationToken.IsCancellationRequested)
                {
                    await _log($"ingress {port.Port} -> 127.0.0.1:{port.AppPort}: the connection broke ({result})");
                }
            }
            catch (SocketException ex)
            {
                await _log($"ingress {port.Port} -> 127.0.0.1:{port.AppPort}: {ex.Message}");
            }
        }
    }
}

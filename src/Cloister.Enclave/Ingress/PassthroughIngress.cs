using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// <c>tls: passthrough</c> ingress: for each manifest port P, listens on our vsock port P (the host pipes its TCP :P
/// there), strips the PROXY v2 header the host puts first, and pipes every connection, the client's bytes untouched
/// and in both directions with half-close, to the app on 127.0.0.1:app_port. A failed connection (a malformed or late
/// header included) is logged, throttled per port (a client resetting thousands of connections costs a line per 10 s),
/// and closed; it never takes the supervisor down.
/// </summary>
internal sealed class PassthroughIngress : IAsyncDisposable
{
    private static readonly StreamPipeReaderOptions s_leaveOpen = new(leaveOpen: true);

    private readonly List<VsockServer> _servers = [];
    private readonly List<LogThrottle> _connectionErrors = [];

    private PassthroughIngress()
    {
    }

    /// <summary>Starts listening on every port; a port that cannot be bound fails the start.</summary>
    /// <param name="timeProvider">The clock of the log throttles; the system's when <see langword="null"/>.</param>
    /// <exception cref="IOException">A vsock port could not be bound.</exception>
    public static async Task<PassthroughIngress> StartAsync(VsockTransport transport, IEnumerable<IngressPort> ports, Func<string, Task> log, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(ports);
        var ingress = new PassthroughIngress();
        try
        {
            foreach (var port in ports)
            {
                var errors = new LogThrottle(log, LogThrottle.DefaultInterval, timeProvider ?? TimeProvider.System);
                ingress._connectionErrors.Add(errors);
                ingress._servers.Add(await VsockServer.StartAsync(transport, (uint)port.Port, (client, token) => PipeAsync(client, port, errors, token)));
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

        foreach (var errors in _connectionErrors)
        {
            await errors.DisposeAsync();
        }
    }

    private static async Task PipeAsync(VsockStream client, IngressPort port, LogThrottle errors, CancellationToken cancellationToken)
    {
        await using (client)
        {
            var input = PipeReader.Create(client, s_leaveOpen);
            RelayEnd enclaveSide;
            try
            {
                if (await ProxyHeaderReader.TryReadAsync(input, port.Port, errors.WriteAsync, cancellationToken) is null)
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
                    await errors.WriteAsync($"ingress {port.Port} -> 127.0.0.1:{port.AppPort}: the connection broke ({result})");
                }
            }
            catch (SocketException ex)
            {
                await errors.WriteAsync($"ingress {port.Port} -> 127.0.0.1:{port.AppPort}: {ex.Message}");
            }
        }
    }
}

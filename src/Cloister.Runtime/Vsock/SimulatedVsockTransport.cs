using System.Net.Sockets;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>The simulator's vsock: the address <c>(cid, port)</c> is the Unix socket <c>&lt;run-dir&gt;/vsock/&lt;cid&gt;_&lt;port&gt;.sock</c>.</summary>
internal sealed class SimulatedVsockTransport(string runDirectory, uint localCid) : VsockTransport
{
    public override uint LocalCid => localCid;

    private protected override ValueTask<VsockListener> ListenCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        var bound = endpoint.Cid == VsockEndpoint.AnyCid ? new VsockEndpoint(localCid, endpoint.Port) : endpoint;
        var path = GetSimulatedSocketPath(runDirectory, bound);
        return ValueTask.FromResult<VsockListener>(new Listener(bound, path, UnixSocketFile.Listen(path)));
    }

    private protected override async ValueTask<VsockStream> ConnectCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        var path = GetSimulatedSocketPath(runDirectory, endpoint);
        var socket = await UnixSocketFile.TryConnectAsync(path, cancellationToken)
            ?? throw new VsockConnectException(endpoint, File.Exists(path) ? $"{path} refuses connections" : $"no socket at {path}", null);
        return new VsockStream(socket, endpoint);
    }

    private sealed class Listener(VsockEndpoint endpoint, string path, Socket socket) : VsockListener(endpoint)
    {
        public override async ValueTask<VsockStream> AcceptAsync(CancellationToken cancellationToken = default)
        {
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync(cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new IOException($"accepting on vsock {LocalEndpoint} ({path}) failed: {ex.Message}", ex);
            }

            return new VsockStream(accepted, remoteEndpoint: null);
        }

        private protected override ValueTask DisposeCoreAsync()
        {
            socket.Dispose();
            UnixSocketFile.Delete(path);
            return ValueTask.CompletedTask;
        }
    }
}

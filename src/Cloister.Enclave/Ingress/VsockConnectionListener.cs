using System.Net;
using Cloister.Runtime.Vsock;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Cloister.Enclave.Ingress;

/// <summary>One bound vsock port as Kestrel sees it: accepts through the <see cref="VsockListener"/>, serves through Kestrel's socket connections.</summary>
internal sealed class VsockConnectionListener(VsockListener listener, SocketConnectionContextFactory connections) : IConnectionListener
{
    // Accepting can fail for a moment (EMFILE under a flood of connections); a short pause keeps the loop from spinning.
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private volatile bool _unbound;

    public EndPoint EndPoint => listener.LocalEndpoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (!_unbound)
        {
            VsockStream accepted;
            try
            {
                accepted = await listener.AcceptAsync(cancellationToken);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            catch (IOException) when (!_unbound)
            {
                await Task.Delay(s_acceptRetryDelay, CancellationToken.None);
                continue;
            }

            // Kestrel's connection takes the socket over; the stream wrapper is not used again, but what it has not read yet
            // of a handed-over connection's preamble goes with the connection.
            var connection = connections.Create(accepted.Socket);
            if (!accepted.UnreadPreamble.IsEmpty)
            {
                connection.Features.Set(new ConnectionPreamble(accepted.UnreadPreamble));
            }

            return connection;
        }

        return null;
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        await listener.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _unbound = true;
        await listener.DisposeAsync();
        connections.Dispose();
    }
}

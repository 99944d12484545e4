using System.Net;
using Cloister.Runtime.Vsock;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Cloister.Enclave.Ingress;

/// <summary>One bound vsock port as Kestrel sees it: accepts through the <see cref="VsockListener"/>, serves through Kestrel's socket connections.</summary>
internal sealed class VsockConnectionListener(VsockListener listener, SocketConnectionContextFactory connections) : IConnectionListener
{
    public EndPoint EndPoint => listener.LocalEndpoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        VsockStream accepted;
        try
        {
            accepted = await listener.AcceptAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            // Unbound: null ends Kestrel's accept loop.
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
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

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => listener.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await listener.DisposeAsync();
        connections.Dispose();
    }
}

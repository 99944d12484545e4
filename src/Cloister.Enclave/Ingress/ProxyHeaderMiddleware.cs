using Microsoft.AspNetCore.Connections;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The first connection middleware on an attested port: strips the host's PROXY v2 header and makes its source the
/// connection's remote address (what <c>HttpContext.Connection.RemoteIpAddress</c>, and so <c>X-Forwarded-For</c>, see),
/// and attaches the port, for the TLS callback and the request handler. A malformed or late header closes the connection
/// before TLS starts. A connection the simulator handed over whole carries its header as a <see cref="ConnectionPreamble"/>
/// instead of as its first bytes; it is read the same way.
/// </summary>
internal sealed class ProxyHeaderMiddleware(ConnectionDelegate next, AttestedPort port)
{
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        Runtime.Ingress.ProxyHeader? header;
        var preamble = connection.Features.Get<ConnectionPreamble>();
        try
        {
            header = await ProxyHeaderReader.TryReadAsync(preamble?.Input ?? connection.Transport.Input, port.Settings.Port, port.ConnectionErrors.WriteAsync, connection.ConnectionClosed);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (header is null)
        {
            connection.Abort(new ConnectionAbortedException("no valid PROXY v2 header"));
            return;
        }

        if (preamble?.HasLeftover() == true)
        {
            await port.ConnectionErrors.WriteAsync($"ingress {port.Settings.Port}: the handed-over connection's preamble goes on past its PROXY v2 header; connection closed");
            connection.Abort(new ConnectionAbortedException("bytes after the PROXY v2 header in the preamble"));
            return;
        }

        // Kestrel reads the remote address for the HTTP layer when the HTTP middleware starts, which is after this one.
        connection.RemoteEndPoint = header.Source;
        connection.Features.Set(port);
        await next(connection);
    }
}

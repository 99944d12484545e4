using System.Net;
using Cloister.Runtime.Vsock;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Kestrel's transport for <see cref="VsockEndpoint"/>s: our <see cref="VsockTransport"/> binds and accepts (AF_VSOCK
/// natively, the Unix-socket simulation otherwise, one code path for both), and each accepted socket is handed to
/// Kestrel's own socket connection (<see cref="SocketConnectionContextFactory"/>), so reads and writes run on Kestrel's
/// pooled pipes exactly as they do for TCP.
/// </summary>
/// <remarks>
/// Why this seam rather than <c>ListenUnixSocket</c> or <c>ListenHandle</c>: the Unix-socket listener would only
/// cover the simulation, and handing Kestrel a raw AF_VSOCK descriptor would run the native path through code that
/// the simulation never exercises. Here binding, the native accept loop and the socket I/O are the same in both.
/// </remarks>
internal sealed class VsockConnectionListenerFactory(VsockTransport transport) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is VsockEndpoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var vsock = endpoint as VsockEndpoint
            ?? throw new NotSupportedException($"{endpoint} is not a vsock address; this transport binds only vsock ports");
        var listener = await transport.ListenAsync(vsock, cancellationToken);
        // The supervisor runs with inline socket completions (SupervisorBundle.Environment); scheduling Kestrel's reads
        // and writes inline too keeps a request on the thread its bytes arrived on instead of a thread-pool hop each way.
        var options = new SocketConnectionFactoryOptions { UnsafePreferInlineScheduling = true };
        return new VsockConnectionListener(listener, new SocketConnectionContextFactory(options, NullLogger.Instance));
    }
}

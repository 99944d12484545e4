using System.Buffers;
using System.IO.Pipelines;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The bytes a handed-over connection carries ahead of its socket's own (<see cref="Runtime.Vsock.VsockStream.UnreadPreamble"/>),
/// as a connection feature: Kestrel reads the socket, so the PROXY header the host would have written first arrives here
/// instead, and <see cref="ProxyHeaderMiddleware"/> reads it from <see cref="Input"/> exactly as from the connection.
/// </summary>
internal sealed class ConnectionPreamble(ReadOnlyMemory<byte> bytes)
{
    public PipeReader Input { get; } = PipeReader.Create(new ReadOnlySequence<byte>(bytes));

    /// <summary>Whether, once the header is read, something is left: bytes Kestrel would never see, so the connection is refused.</summary>
    public bool HasLeftover() => Input.TryRead(out var result) && !result.Buffer.IsEmpty;
}

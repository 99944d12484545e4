using System.IO.Pipelines;
using System.Net.Sockets;
using Cloister.Runtime.Vsock;

namespace Cloister.Runtime.Relay;

/// <summary>
/// One side of a relayed connection: where its bytes come from (a <see cref="PipeReader"/>, which may already hold bytes
/// read past a handshake line), where bytes for it go, and how to end its sending half.
/// </summary>
public sealed class RelayEnd
{
    private readonly Action _completeWrites;

    /// <summary>Creates a side from its parts.</summary>
    /// <param name="input">The bytes this side sends.</param>
    /// <param name="output">Where the bytes for this side are written.</param>
    /// <param name="completeWrites">Ends the sending half of <paramref name="output"/> so the peer reads end of stream.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public RelayEnd(PipeReader input, Stream output, Action completeWrites)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(completeWrites);
        Input = input;
        Output = output;
        _completeWrites = completeWrites;
    }

    /// <summary>The bytes this side sends.</summary>
    public PipeReader Input { get; }

    /// <summary>Where the bytes for this side are written.</summary>
    public Stream Output { get; }

    /// <summary>A TCP (or Unix) socket's side.</summary>
    /// <param name="input">The reader over <paramref name="stream"/>, possibly holding bytes already read.</param>
    /// <param name="stream">The socket's stream.</param>
    /// <returns>The side; ending its writes shuts down the socket's sending half.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static RelayEnd ForSocket(PipeReader input, NetworkStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new RelayEnd(input, stream, () => stream.Socket.Shutdown(SocketShutdown.Send));
    }

    /// <summary>A vsock connection's side.</summary>
    /// <param name="input">The reader over <paramref name="stream"/>, possibly holding bytes already read.</param>
    /// <param name="stream">The vsock stream.</param>
    /// <returns>The side; ending its writes calls <see cref="VsockStream.CompleteWrites"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static RelayEnd ForVsock(PipeReader input, VsockStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new RelayEnd(input, stream, stream.CompleteWrites);
    }

    internal void CompleteWrites() => _completeWrites();
}

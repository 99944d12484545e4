using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// A connected vsock stream, over AF_VSOCK or its Unix-socket simulation. Unlike <see cref="NetworkStream"/> it works on
/// sockets of an address family .NET does not know, and it can end its sending half alone (<see cref="CompleteWrites"/>).
/// </summary>
public sealed class VsockStream : Stream
{
    private readonly Socket _socket;
    private ReadOnlyMemory<byte> _preamble;

    internal VsockStream(Socket socket, VsockEndpoint? remoteEndpoint, ReadOnlyMemory<byte> preamble = default)
    {
        _socket = socket;
        RemoteEndpoint = remoteEndpoint;
        _preamble = preamble;
    }

    /// <summary>
    /// The peer's address; <see langword="null"/> for a connection accepted in the simulation, where a Unix socket's
    /// client has no name.
    /// </summary>
    public VsockEndpoint? RemoteEndpoint { get; }

    /// <summary>
    /// The connected socket, for code that runs its own I/O over it (Kestrel's socket transport, the relay). Whoever takes it
    /// over owns it: reading or writing it directly bypasses this stream, and disposing either closes both. It must take
    /// <see cref="UnreadPreamble"/> too: those bytes come before the socket's own.
    /// </summary>
    public Socket Socket => _socket;

    /// <summary>
    /// Bytes the connection carries ahead of its socket's own that this stream has not returned yet. Only a connection the
    /// simulation handed over whole has them (<see cref="VsockTransport.HandOverAsync"/>): the socket is then the client's
    /// own, and these are what the host would have written first had it relayed the connection. Reads return them first.
    /// </summary>
    public ReadOnlyMemory<byte> UnreadPreamble => _preamble;

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException("a vsock stream has no length");

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException("a vsock stream cannot seek");
        set => throw new NotSupportedException("a vsock stream cannot seek");
    }

    /// <summary>Ends the sending half: the peer reads end of stream, and this side can still read what the peer sends.</summary>
    /// <exception cref="ObjectDisposedException">The stream is disposed.</exception>
    /// <exception cref="IOException">The socket refused the shutdown.</exception>
    public void CompleteWrites()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException ex)
        {
            throw Wrap(ex, "shutdown");
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (!_preamble.IsEmpty)
        {
            return ReadPreamble(buffer);
        }

        try
        {
            return _socket.Receive(buffer, SocketFlags.None);
        }
        catch (SocketException ex)
        {
            throw Wrap(ex, "read");
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc/>
    // Relays call this once per read for the life of a tunnel: the pooling builder keeps a pending read from allocating.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_preamble.IsEmpty)
        {
            return ReadPreamble(buffer.Span);
        }

        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        }
        catch (SocketException ex)
        {
            throw Wrap(ex, "read");
        }
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                buffer = buffer[_socket.Send(buffer, SocketFlags.None)..];
            }
        }
        catch (SocketException ex)
        {
            throw Wrap(ex, "write");
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                buffer = buffer[await _socket.SendAsync(buffer, SocketFlags.None, cancellationToken)..];
            }
        }
        catch (SocketException ex)
        {
            throw Wrap(ex, "write");
        }
    }

    /// <summary>Does nothing: writes go straight to the socket.</summary>
    public override void Flush()
    {
    }

    /// <summary>Does nothing: writes go straight to the socket.</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A completed task.</returns>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a vsock stream cannot seek");

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException("a vsock stream has no length");

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    // A zero-byte read asks whether the stream is readable without taking anything (a relay's wait that holds no buffer):
    // with preamble bytes left it is, and the socket, which may stay silent, must not be asked.
    private int ReadPreamble(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _preamble.Length);
        _preamble.Span[..count].CopyTo(buffer);
        _preamble = _preamble[count..];
        return count;
    }

    private IOException Wrap(SocketException ex, string operation) =>
        new($"vsock {operation} with {RemoteEndpoint?.ToString() ?? "the peer"} failed: {ex.Message}", ex);
}

using System.Net.Sockets;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Nsm;

/// <summary>
/// The simulator's NSM: length-prefixed frames (u32 big-endian + CBOR) over a Unix socket, answered by an
/// <see cref="NsmSocketServer"/>. Exchanges from several callers are serialized on the one connection.
/// </summary>
public sealed class NsmSocketDevice : NsmDevice
{
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _exchangeLock = new(1, 1);
    private bool _broken;

    private NsmSocketDevice(Socket socket)
    {
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Connects to the simulator's NSM socket.</summary>
    /// <param name="socketPath">The socket file.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The device.</returns>
    /// <exception cref="ArgumentException">The path is too long for a Unix socket.</exception>
    /// <exception cref="IOException">Nobody listens at <paramref name="socketPath"/>, or connecting failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<NsmSocketDevice> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        var socket = await UnixSocketFile.TryConnectAsync(socketPath, cancellationToken)
            ?? throw new IOException($"no simulated NSM listens at {socketPath}");
        return new NsmSocketDevice(socket);
    }

    /// <summary>Closes the connection.</summary>
    /// <param name="disposing">Whether managed state may be touched.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stream.Dispose();
            _exchangeLock.Dispose();
        }

        base.Dispose(disposing);
    }

    private protected override async ValueTask<int> ExchangeCoreAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken)
    {
        await _exchangeLock.WaitAsync(cancellationToken);
        try
        {
            if (_broken)
            {
                throw new IOException("the simulated NSM connection broke in an earlier exchange; connect again");
            }

            // Any failure between sending and receiving leaves an answer in flight: the connection cannot be trusted again.
            _broken = true;
            await NsmFrame.WriteAsync(_stream, request, cancellationToken);
            var length = await NsmFrame.ReadAsync(_stream, response, MaxResponseLength, "simulated NSM response", cancellationToken);
            if (length < 0)
            {
                throw new EndOfStreamException("simulated NSM response: the server closed the connection without answering");
            }

            _broken = false;
            return length;
        }
        catch (SocketException ex)
        {
            throw new IOException($"simulated NSM: {ex.Message}", ex);
        }
        finally
        {
            _exchangeLock.Release();
        }
    }
}

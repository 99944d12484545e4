using System.Buffers;
using System.Net.Sockets;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Nsm;

/// <summary>
/// Serves the simulator's NSM socket: every request frame from every client is answered with the handler's response.
/// The handler (the software NSM) owns the CBOR, including how it encodes errors; this class owns the framing.
/// </summary>
public sealed class NsmSocketServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<ReadOnlyMemory<byte>, byte[]> _handler;
    private int _disposed;

    /// <summary>Binds and listens on <paramref name="socketPath"/> at once, so clients can connect before <see cref="RunAsync"/> runs.</summary>
    /// <param name="socketPath">The socket file; a stale one is replaced.</param>
    /// <param name="handler">Turns one request into one response of at most <see cref="NsmDevice.MaxResponseLength"/> bytes; called concurrently.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The path is empty or too long for a Unix socket.</exception>
    /// <exception cref="IOException">Another process listens there, or binding failed.</exception>
    public NsmSocketServer(string socketPath, Func<ReadOnlyMemory<byte>, byte[]> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        _listener = UnixSocketFile.Listen(socketPath);
        SocketPath = socketPath;
    }

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Accepts clients and answers their requests until <paramref name="cancellationToken"/> is cancelled, then closes every
    /// connection and the socket file and returns. A client that sends a frame over <see cref="NsmDevice.MaxRequestLength"/>
    /// bytes, a malformed frame, or a request the handler fails on is disconnected; the others are unaffected.
    /// </summary>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes once every connection is closed.</returns>
    /// <exception cref="ObjectDisposedException">The server was disposed before it ran.</exception>
    /// <exception cref="IOException">Accepting failed.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var clients = new List<Task>();
        try
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is ObjectDisposedException or SocketException && Volatile.Read(ref _disposed) != 0)
                {
                    // Disposed while waiting: stop accepting; the clients already connected end with the token.
                    break;
                }
                catch (SocketException ex)
                {
                    throw new IOException($"simulated NSM at {SocketPath}: accept failed: {ex.Message}", ex);
                }

                clients.RemoveAll(task => task.IsCompleted);
                clients.Add(ServeAsync(client, cancellationToken));
            }
        }
        finally
        {
            await DisposeAsync();
            await Task.WhenAll(clients);
        }
    }

    /// <summary>Stops listening and removes the socket file; connections being served end when <see cref="RunAsync"/> is cancelled.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listener.Dispose();
            UnixSocketFile.Delete(SocketPath);
        }

        return ValueTask.CompletedTask;
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        // Leave the accept loop at once; the client's work continues on the pool.
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(NsmDevice.MaxRequestLength);
        await using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            while (true)
            {
                var length = await NsmFrame.ReadAsync(stream, buffer, NsmDevice.MaxRequestLength, "simulated NSM request", cancellationToken);
                if (length < 0)
                {
                    return;
                }

                byte[] response;
                try
                {
                    response = _handler(buffer.AsMemory(0, length));
                }
                catch (Exception)
                {
                    // A request the handler cannot answer costs its client the connection, never the server.
                    return;
                }

                if (response.Length > NsmDevice.MaxResponseLength)
                {
                    // The real device cannot answer more; dropping the client surfaces the handler's bug instead of hiding it.
                    return;
                }

                await NsmFrame.WriteAsync(stream, response, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The client sent something unusable, went away, or the server is stopping: this connection ends, the server goes on.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

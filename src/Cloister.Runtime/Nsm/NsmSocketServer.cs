using System.Buffers;
using System.Net.Sockets;
using Cloister.Attestation.Nsm;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Nsm;

/// <summary>
/// Serves the simulator's NSM socket: every request frame from every client is answered with the handler's response.
/// The handler (the software NSM) owns the CBOR, including how it encodes the errors it knows; this class owns the
/// framing, and answers for a handler that fails: as the real device does when it fails internally, with an
/// <see cref="NsmErrorCode.InternalError"/> response, the reason going to <c>failed</c>.
/// </summary>
public sealed class NsmSocketServer : IAsyncDisposable
{
    private static readonly byte[] s_internalError = NsmCodec.Encode(new NsmErrorResponse(NsmErrorCode.InternalError));

    private readonly Socket _listener;
    private readonly Func<ReadOnlyMemory<byte>, byte[]> _handler;
    private readonly Action<string>? _failed;
    private int _disposed;

    /// <summary>Binds and listens on <paramref name="socketPath"/> at once, so clients can connect before <see cref="RunAsync"/> runs.</summary>
    /// <param name="socketPath">The socket file; a stale one is replaced.</param>
    /// <param name="handler">Turns one request into one response of at most <see cref="NsmDevice.MaxResponseLength"/> bytes; called concurrently.</param>
    /// <param name="failed">
    /// Told, in one line, why the handler could not answer a request (it threw, or answered more than the device can);
    /// the client gets <see cref="NsmErrorCode.InternalError"/>. May be <see langword="null"/>; called concurrently.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The path is empty or too long for a Unix socket.</exception>
    /// <exception cref="IOException">Another process listens there, or binding failed.</exception>
    public NsmSocketServer(string socketPath, Func<ReadOnlyMemory<byte>, byte[]> handler, Action<string>? failed = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        _failed = failed;
        _listener = UnixSocketFile.Listen(socketPath);
        SocketPath = socketPath;
    }

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Accepts clients and answers their requests until <paramref name="cancellationToken"/> is cancelled, then closes every
    /// connection and the socket file and returns. A client that sends a frame over <see cref="NsmDevice.MaxRequestLength"/>
    /// bytes or a malformed frame is disconnected; the others are unaffected.
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

                await NsmFrame.WriteAsync(stream, Answer(buffer.AsMemory(0, length)), cancellationToken);
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

    private byte[] Answer(ReadOnlyMemory<byte> request)
    {
        byte[] response;
        try
        {
            response = _handler(request);
        }
        catch (Exception ex)
        {
            // Whatever the handler throws, its client gets the device's own answer for a failure inside it, never the server's end.
            _failed?.Invoke($"simulated NSM: a {request.Length}-byte request failed: {ex.GetType().Name}: {ex.Message}");
            return s_internalError;
        }

        if (response.Length > NsmDevice.MaxResponseLength)
        {
            // The real device cannot answer more: this is the handler's bug, reported rather than passed on.
            _failed?.Invoke($"simulated NSM: a {request.Length}-byte request got a {response.Length}-byte answer, over the device's {NsmDevice.MaxResponseLength}");
            return s_internalError;
        }

        return response;
    }
}

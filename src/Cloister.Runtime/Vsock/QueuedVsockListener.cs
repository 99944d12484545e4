using System.Runtime.InteropServices;
using System.Threading.Channels;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// A listener whose connections are accepted ahead into one bounded queue that <see cref="AcceptAsync"/> takes from: one
/// long-lived thread waits in poll(2) on every socket behind the port (the simulation's stream and hand-over sockets) and
/// takes each connection as its socket reports one. Taking only what poll(2) reported, and counting it before the socket
/// gives it up, is what lets <see cref="TryCountQueued"/> see every connection somewhere.
/// </summary>
internal abstract class QueuedVsockListener : VsockListener
{
    // Connections accepted but not yet taken; beyond this the kernel's backlog holds the rest.
    private const int QueueLength = 64;

    // An accept that fails for a moment (EMFILE under a flood of connections) is retried after this pause.
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<VsockStream> _accepted = Channel.CreateBounded<VsockStream>(QueueLength);
    private readonly SafeHandle[] _sockets;
    private readonly int _pollTimeoutMilliseconds;
    private Task _accepting = Task.CompletedTask;
    private long _queued;
    private int _taking;
    private int _disposed;

    /// <param name="localEndpoint">The address.</param>
    /// <param name="sockets">The sockets to take connections from; the accept loop owns them until it ends, then <see cref="ReleaseSockets"/> releases them.</param>
    /// <param name="pollTimeoutMilliseconds">How long one poll(2) may wait before the loop looks again whether the listener is disposed; -1 when <see cref="WakeAcceptLoop"/> wakes it.</param>
    private protected QueuedVsockListener(VsockEndpoint localEndpoint, SafeHandle[] sockets, int pollTimeoutMilliseconds)
        : base(localEndpoint)
    {
        _sockets = sockets;
        _pollTimeoutMilliseconds = pollTimeoutMilliseconds;
    }

    /// <inheritdoc/>
    public override async ValueTask<VsockStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(VsockListener), $"the listener on vsock {LocalEndpoint} was disposed");
        }
    }

    /// <inheritdoc/>
    public override bool TryCountQueued(out long queued)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // Read in the order a connection moves (socket, loop, queue), each step counting it before the one before lets
        // it go: a connection that moves on while these are read is seen at its next step, never missed between two.
        queued = 0;
        if (_sockets.Any(HoldsConnection) || Volatile.Read(ref _taking) != 0)
        {
            return false;
        }

        queued = Interlocked.Read(ref _queued);
        return true;
    }

    /// <summary>Starts the accept loop; the derived listener calls it last in its constructor, once <see cref="TakeConnection"/> can run.</summary>
    private protected void StartAccepting() =>
        _accepting = Task.Factory.StartNew(AcceptConnections, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Takes the connection that poll(2) reported on one of the sockets, without blocking.</summary>
    /// <param name="socket">Which of the constructor's sockets.</param>
    /// <returns>The connection, or <see langword="null"/> when there was none after all or it was unusable (and is closed).</returns>
    /// <exception cref="IOException">Taking failed for a moment (EMFILE under a flood of connections): retried after a pause.</exception>
    private protected abstract VsockStream? TakeConnection(int socket);

    /// <summary>Accepts a connection from a listening socket without blocking (the socket is non-blocking).</summary>
    /// <param name="listening">The listening socket.</param>
    /// <param name="address">Receives the peer's address, as much of it as fits.</param>
    /// <returns>The connected descriptor (close-on-exec), or -1 when none was waiting after all.</returns>
    /// <exception cref="IOException">accept4(2) failed.</exception>
    private protected unsafe int Accept(SafeHandle listening, Span<byte> address)
    {
        var length = address.Length;
        int fd;
        fixed (byte* pointer = address)
        {
            fd = SocketInterop.Accept4(Descriptor(listening), pointer, &length, SocketInterop.SockCloexec);
        }

        if (fd >= 0)
        {
            return fd;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno is SocketInterop.Eagain or SocketInterop.Eintr or SocketInterop.Econnaborted
            ? -1
            : throw new IOException($"accept on vsock {LocalEndpoint} failed: {SocketInterop.Describe(errno)}");
    }

    /// <summary>Wakes the accept loop from its poll(2) when the listener is disposed and its poll waits without end.</summary>
    private protected virtual void WakeAcceptLoop()
    {
    }

    /// <summary>Releases the sockets, once, after the accept loop has ended.</summary>
    private protected abstract void ReleaseSockets();

    private protected sealed override async ValueTask DisposeCoreAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        WakeAcceptLoop();
        // The loop owns the descriptors until it ends, so no number is closed and reused under its poll and accept.
        await _accepting;
        ReleaseSockets();
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var unclaimed))
        {
            await unclaimed.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private static int Descriptor(SafeHandle handle) => (int)handle.DangerousGetHandle();

    private static unsafe bool HoldsConnection(SafeHandle socket)
    {
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            var poll = new SocketInterop.PollFd { Fd = Descriptor(socket), Events = SocketInterop.PollIn };
            return SocketInterop.Poll(&poll, 1, 0) != 0;
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    private unsafe void AcceptConnections()
    {
        var polls = new SocketInterop.PollFd[_sockets.Length];
        for (var i = 0; i < polls.Length; i++)
        {
            polls[i] = new SocketInterop.PollFd { Fd = Descriptor(_sockets[i]), Events = SocketInterop.PollIn };
        }

        while (!_stopping.IsCancellationRequested)
        {
            int ready;
            fixed (SocketInterop.PollFd* pointer = polls)
            {
                ready = SocketInterop.Poll(pointer, (nuint)polls.Length, _pollTimeoutMilliseconds);
            }

            if (ready < 0 && Marshal.GetLastPInvokeError() != SocketInterop.Eintr && !_stopping.IsCancellationRequested)
            {
                // A poll that keeps failing must not turn this thread into a spin; a signal (EINTR) just polls again.
                Thread.Sleep(s_acceptRetryDelay);
                continue;
            }

            var taken = false;
            for (var i = 0; i < polls.Length && ready > 0 && !_stopping.IsCancellationRequested; i++)
            {
                if (polls[i].Revents != 0)
                {
                    taken |= TakeAndQueue(i);
                }
            }

            if (ready > 0 && !taken && !_stopping.IsCancellationRequested)
            {
                // Readiness with nothing to take (an error condition on a socket, POLLERR or POLLHUP, that stays
                // reported): pause rather than poll straight back into it.
                Thread.Sleep(s_acceptRetryDelay);
            }
        }
    }

    // Whether a connection was taken (and queued, or disposed because the listener stopped).
    private bool TakeAndQueue(int socket)
    {
        // Counted before the socket gives the connection up and until it is queued (TryCountQueued).
        Interlocked.Increment(ref _taking);
        try
        {
            if (TakeConnection(socket) is not { } stream)
            {
                return false;
            }

            QueueAsync(stream).GetAwaiter().GetResult();
            return true;
        }
        catch (IOException)
        {
            Thread.Sleep(s_acceptRetryDelay);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _taking);
        }
    }

    // Waits while the queue is full (the kernel's backlog holds the rest meanwhile); once the listener stops, disposes the
    // connection instead.
    private async Task QueueAsync(VsockStream stream)
    {
        try
        {
            await _accepted.Writer.WriteAsync(stream, _stopping.Token);
            Interlocked.Increment(ref _queued);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            await stream.DisposeAsync();
        }
    }
}

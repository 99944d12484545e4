using System.Net.Sockets;
using System.Runtime.InteropServices;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>Real AF_VSOCK sockets, as inside a Nitro enclave and on its parent instance.</summary>
internal sealed class NativeVsockTransport : VsockTransport
{
    // How long one poll(2) waits before the accept loop looks at its cancellation token again.
    private const int PollSliceMilliseconds = 200;

    public override uint LocalCid => VsockEndpoint.AnyCid;

    private protected override unsafe ValueTask<VsockListener> ListenCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        var handle = CreateSocket(nonBlocking: true);
        try
        {
            Span<byte> address = stackalloc byte[VsockEndpoint.SockaddrSize];
            endpoint.WriteSockaddr(address);
            fixed (byte* pointer = address)
            {
                ThrowOnError(SocketInterop.Bind(Descriptor(handle), pointer, address.Length), $"bind {endpoint}");
            }

            ThrowOnError(SocketInterop.Listen(Descriptor(handle), 128), $"listen on {endpoint}");
            return ValueTask.FromResult<VsockListener>(new Listener(endpoint, handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private protected override async ValueTask<VsockStream> ConnectCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        // A blocking connect is bounded by the kernel's vsock connect timeout (2 s by default); on cancellation the caller
        // is released at once and a connection that still completes is closed.
        var connecting = Task.Run(() => ConnectBlocking(endpoint), CancellationToken.None);
        try
        {
            return await connecting.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _ = connecting.ContinueWith(static task => task.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
    }

    private static unsafe VsockStream ConnectBlocking(VsockEndpoint endpoint)
    {
        var handle = CreateSocket(nonBlocking: false);
        try
        {
            Span<byte> address = stackalloc byte[VsockEndpoint.SockaddrSize];
            endpoint.WriteSockaddr(address);
            int result;
            fixed (byte* pointer = address)
            {
                result = SocketInterop.Connect(Descriptor(handle), pointer, address.Length);
            }

            if (result < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw SocketInterop.IsRefusal(errno)
                    ? new VsockConnectException(endpoint, SocketInterop.Describe(errno), null)
                    : new IOException($"connect to vsock {endpoint} failed: {SocketInterop.Describe(errno)}");
            }

            return new VsockStream(new Socket(handle), endpoint);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafeSocketHandle CreateSocket(bool nonBlocking)
    {
        var type = SocketInterop.SockStream | SocketInterop.SockCloexec | (nonBlocking ? SocketInterop.SockNonBlock : 0);
        var fd = SocketInterop.Socket((int)VsockEndpoint.VsockAddressFamily, type, 0);
        ThrowOnError(fd, "socket(AF_VSOCK)");
        return new SafeSocketHandle((IntPtr)fd, ownsHandle: true);
    }

    private static int Descriptor(SafeSocketHandle handle) => (int)handle.DangerousGetHandle();

    private static void ThrowOnError(int result, string operation)
    {
        if (result < 0)
        {
            throw new IOException($"vsock {operation} failed: {SocketInterop.Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>
    /// One thread per listener waits for connections (poll(2) in slices, so it sees the listener stop) and queues them:
    /// .NET cannot accept AF_VSOCK connections asynchronously, and a thread per accept would cost a thread per connection.
    /// </summary>
    private sealed class Listener : QueuedVsockListener
    {
        private readonly SafeSocketHandle _handle;
        private readonly Task _accepting;

        public Listener(VsockEndpoint endpoint, SafeSocketHandle handle)
            : base(endpoint)
        {
            _handle = handle;
            _accepting = Task.Factory.StartNew(AcceptConnections, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        private protected override async ValueTask StopAcceptingAsync()
        {
            // The loop owns the descriptor until it ends, so its number is never closed and reused under poll and accept.
            await _accepting;
            _handle.Dispose();
        }

        private void AcceptConnections()
        {
            while (!Stopping.IsCancellationRequested)
            {
                VsockStream? accepted;
                try
                {
                    accepted = TryAccept(Descriptor(_handle));
                }
                catch (IOException)
                {
                    Thread.Sleep(AcceptRetryDelay);
                    continue;
                }

                if (accepted is not null)
                {
                    PublishAsync(accepted).GetAwaiter().GetResult();
                }
            }
        }

        private unsafe VsockStream? TryAccept(int listener)
        {
            var poll = new SocketInterop.PollFd { Fd = listener, Events = SocketInterop.PollIn };
            if (SocketInterop.Poll(&poll, 1, PollSliceMilliseconds) <= 0)
            {
                return null;
            }

            Span<byte> address = stackalloc byte[VsockEndpoint.SockaddrSize];
            var length = address.Length;
            int fd;
            fixed (byte* pointer = address)
            {
                fd = SocketInterop.Accept4(listener, pointer, &length, SocketInterop.SockCloexec);
            }

            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is SocketInterop.Eagain or SocketInterop.Eintr or SocketInterop.Econnaborted
                    ? null
                    : throw new IOException($"accept on vsock {LocalEndpoint} failed: {SocketInterop.Describe(errno)}");
            }

            var connection = new SafeSocketHandle((IntPtr)fd, ownsHandle: true);
            try
            {
                return new VsockStream(new Socket(connection), VsockEndpoint.ReadSockaddr(address));
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }
}

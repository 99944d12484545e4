using System.Net.Sockets;
using System.Runtime.InteropServices;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>Real AF_VSOCK sockets, as inside a Nitro enclave and on its parent instance.</summary>
internal sealed class NativeVsockTransport : VsockTransport
{
    // How long one poll(2) waits before the accept loop looks again whether the listener is disposed.
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
    /// .NET cannot accept AF_VSOCK connections asynchronously, so the base's poll(2) thread does, in slices so it sees the
    /// listener stop.
    /// </summary>
    private sealed class Listener : QueuedVsockListener
    {
        private readonly SafeSocketHandle _handle;

        public Listener(VsockEndpoint endpoint, SafeSocketHandle handle)
            : base(endpoint, [handle], PollSliceMilliseconds)
        {
            _handle = handle;
            StartAccepting();
        }

        private protected override void ReleaseSockets() => _handle.Dispose();

        private protected override VsockStream? TakeConnection(int socket)
        {
            Span<byte> address = stackalloc byte[VsockEndpoint.SockaddrSize];
            var fd = Accept(_handle, address);
            if (fd < 0)
            {
                return null;
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

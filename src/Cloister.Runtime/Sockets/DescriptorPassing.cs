using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Cloister.Runtime.Sockets;

/// <summary>
/// Passing an open socket to another process over a Unix datagram socket (SCM_RIGHTS, unix(7)): one datagram carries
/// exactly one descriptor and a short payload. .NET's <see cref="System.Net.Sockets.Socket"/> has no ancillary-data API,
/// so sendmsg(2) and recvmsg(2) go to libc.
/// </summary>
internal static unsafe class DescriptorPassing
{
    /// <summary>The largest payload a datagram may carry; a longer one is refused when sent and dropped when received.</summary>
    public const int MaxPayloadLength = 512;

    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCtrunc = 0x8;
    private const int MsgTrunc = 0x20;
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int MsgCmsgCloexec = 0x40000000;

    // CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)) on 64-bit Linux: a 16-byte header, data padded to 8.
    private const int RightsLength = 16 + sizeof(int);
    private const int RightsSpace = 16 + 8;

    /// <summary>A datagram as recvmsg(2) read it.</summary>
    /// <param name="Length">Payload bytes.</param>
    /// <param name="Descriptor">
    /// The passed descriptor (close-on-exec), or -1 when the datagram is unusable: truncated, or not exactly one descriptor
    /// (any it brought are closed already).
    /// </param>
    public readonly record struct Received(int Length, int Descriptor);

    /// <summary>Creates an unbound, blocking, close-on-exec Unix datagram socket.</summary>
    /// <exception cref="IOException">The system refused.</exception>
    public static SafeHandle CreateDatagramSocket()
    {
        var fd = SocketInterop.Socket(SocketInterop.AfUnix, SocketInterop.SockDgram | SocketInterop.SockCloexec, 0);
        return fd < 0
            ? throw new IOException($"socket(AF_UNIX, SOCK_DGRAM) failed: {SocketInterop.Describe(Marshal.GetLastPInvokeError())}")
            : new SafeSocketHandle((IntPtr)fd, ownsHandle: true);
    }

    /// <summary>Binds a datagram socket to a path (the caller removed any stale file first).</summary>
    /// <exception cref="IOException">Binding failed.</exception>
    public static void Bind(SafeHandle socket, UnixDomainSocketEndPoint path)
    {
        var address = path.Serialize();
        fixed (byte* pointer = address.Buffer.Span)
        {
            if (SocketInterop.Bind(Descriptor(socket), pointer, address.Size) < 0)
            {
                throw new IOException($"cannot bind {path}: {SocketInterop.Describe(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    /// <summary>Sends <paramref name="descriptor"/> and <paramref name="payload"/> to the socket bound at <paramref name="path"/>, without waiting.</summary>
    /// <returns>0 when sent, else the errno (EAGAIN when the receiver's queue is full, ECONNREFUSED or ENOENT when nobody is bound there).</returns>
    /// <exception cref="ArgumentException">The payload is longer than <see cref="MaxPayloadLength"/>.</exception>
    public static int TrySend(SafeHandle via, UnixDomainSocketEndPoint path, SafeHandle descriptor, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayloadLength)
        {
            throw new ArgumentException($"a passed descriptor's payload holds at most {MaxPayloadLength} bytes, not {payload.Length}", nameof(payload));
        }

        var address = path.Serialize();
        byte* control = stackalloc byte[RightsSpace];
        new Span<byte>(control, RightsSpace).Clear();
        *(nuint*)control = RightsLength;
        *(int*)(control + 8) = SolSocket;
        *(int*)(control + 12) = ScmRights;
        var added = false;
        try
        {
            descriptor.DangerousAddRef(ref added);
            *(int*)(control + 16) = (int)descriptor.DangerousGetHandle();
            fixed (byte* name = address.Buffer.Span)
            fixed (byte* data = payload)
            {
                var vector = new IoVector { Base = data, Length = (nuint)payload.Length };
                var message = new MessageHeader
                {
                    Name = name,
                    NameLength = (uint)address.Size,
                    Vectors = &vector,
                    VectorCount = 1,
                    Control = control,
                    ControlLength = RightsSpace,
                };
                while (true)
                {
                    if (SocketInterop.SendMessage(Descriptor(via), &message, MsgDontWait | MsgNoSignal) >= 0)
                    {
                        return 0;
                    }

                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != SocketInterop.Eintr)
                    {
                        return errno;
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                descriptor.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Waits for the next datagram on a blocking socket. A shutdown (<see cref="Shutdown"/>) ends the wait with an empty
    /// datagram, which the caller tells from a sender's by its own state.
    /// </summary>
    /// <exception cref="IOException">recvmsg(2) failed.</exception>
    public static Received Receive(SafeHandle socket, Span<byte> payload)
    {
        byte* control = stackalloc byte[RightsSpace * 2];
        fixed (byte* data = payload)
        {
            var vector = new IoVector { Base = data, Length = (nuint)payload.Length };
            var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = RightsSpace * 2 };
            nint length;
            while ((length = SocketInterop.ReceiveMessage(Descriptor(socket), &message, MsgCmsgCloexec)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != SocketInterop.Eintr)
                {
                    throw new IOException($"recvmsg on a descriptor-passing socket failed: {SocketInterop.Describe(errno)}");
                }
            }

            var descriptor = TakeDescriptor(&message);
            if (descriptor >= 0 && (message.Flags & (MsgTrunc | MsgCtrunc)) != 0)
            {
                SocketInterop.Close(descriptor);
                descriptor = -1;
            }

            return new Received((int)length, descriptor);
        }
    }

    /// <summary>Ends a pending and any later <see cref="Receive"/> on the socket.</summary>
    public static void Shutdown(SafeHandle socket) => SocketInterop.Shutdown(Descriptor(socket), SocketInterop.ShutRdwr);

    // The datagram's one descriptor; when it brought none or several, -1, and the several are closed.
    private static int TakeDescriptor(MessageHeader* message)
    {
        var first = -1;
        var count = 0;
        var control = (byte*)message->Control;
        var end = control + message->ControlLength;
        while (control + 16 <= end)
        {
            var length = *(nuint*)control;
            if (length < 16 || control + length > end)
            {
                break;
            }

            if (*(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
            {
                for (var offset = 16; offset + sizeof(int) <= (int)length; offset += sizeof(int))
                {
                    var fd = *(int*)(control + offset);
                    if (count++ == 0)
                    {
                        first = fd;
                    }
                    else
                    {
                        SocketInterop.Close(fd);
                    }
                }
            }

            control += (length + 7) & ~(nuint)7;
        }

        if (count > 1)
        {
            SocketInterop.Close(first);
            return -1;
        }

        return first;
    }

    private static int Descriptor(SafeHandle handle) => (int)handle.DangerousGetHandle();

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }
}

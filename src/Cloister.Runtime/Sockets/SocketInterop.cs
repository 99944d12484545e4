using System.Runtime.InteropServices;

namespace Cloister.Runtime.Sockets;

/// <summary>
/// The libc socket calls .NET's <see cref="System.Net.Sockets.Socket"/> cannot make: it refuses to create, connect or
/// accept sockets of an address family it does not know (AF_VSOCK), and it has no ancillary data (passing descriptors).
/// These steps go to libc; a connected descriptor is then handed to a <see cref="System.Net.Sockets.Socket"/> for its
/// asynchronous reads and writes.
/// </summary>
internal static unsafe partial class SocketInterop
{
    internal const int AfUnix = 1;
    internal const int SockStream = 1;
    internal const int SockDgram = 2;
    internal const int SockNonBlock = 0x800;
    internal const int SockCloexec = 0x80000;
    internal const short PollIn = 0x1;
    internal const int ShutRdwr = 2;
    internal const int Enoent = 2;
    internal const int Eintr = 4;
    internal const int Eagain = 11;
    internal const int Enodev = 19;
    internal const int Econnaborted = 103;
    internal const int Econnreset = 104;
    internal const int Etimedout = 110;
    internal const int Econnrefused = 111;
    internal const int Ehostunreach = 113;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(int fd, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    internal static partial int Accept4(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    internal static partial nint SendMessage(int fd, void* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint ReceiveMessage(int fd, void* message, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    internal static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    /// <summary>Whether an errno from connect means "nobody there" rather than a local failure.</summary>
    internal static bool IsRefusal(int errno) => errno is Econnrefused or Enodev or Etimedout or Ehostunreach or Econnreset;

    internal static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}

using System.Runtime.InteropServices;

namespace Cloister.Enclave.Nitro;

internal static unsafe partial class NitroInterop
{
    public const int AfInet = 2;
    public const int SockDgram = 2;
    public const uint SiocGetInterfaceFlags = 0x8913;
    public const uint SiocSetInterfaceFlags = 0x8914;

    /// <summary><c>RNDADDENTROPY</c> = <c>_IOW('R', 0x03, int[2])</c>.</summary>
    public const uint RndAddEntropy = 0x40085203;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(SafeHandle fd, nuint request, void* argument);

    public static IOException LastError(string call) =>
        new($"{call}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
}

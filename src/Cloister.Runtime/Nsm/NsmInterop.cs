using System.Runtime.InteropServices;

namespace Cloister.Runtime.Nsm;

/// <summary>The one system call the NSM driver offers.</summary>
internal static unsafe partial class NsmInterop
{
    internal const int Emsgsize = 90;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, nuint request, NsmRaw* argument);

    /// <summary>Maps a failed ioctl's errno as the AWS Rust driver does: <c>EMSGSIZE</c> is "input too large", the rest internal.</summary>
    internal static NsmDeviceException ToException(int errno, int requestLength) => errno == Emsgsize
        ? new NsmDeviceException(NsmDeviceError.InputTooLarge, $"input too large: the NSM driver refused a {requestLength}-byte request (EMSGSIZE)")
        : new NsmDeviceException(NsmDeviceError.DriverFailure, $"the NSM ioctl failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}

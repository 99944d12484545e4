using System.Runtime.InteropServices;

namespace Cloister.Host.Processes;

/// <summary>The few system calls .NET does not wrap: ownership and times of links, device nodes, and signals.</summary>
internal static unsafe partial class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    /// <summary>Whether this process runs as root: only root may chown, mknod devices or chroot.</summary>
    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>Sets owner and group without following a symbolic link.</summary>
    /// <exception cref="IOException">The call failed.</exception>
    public static void ChangeOwner(string path, uint uid, uint gid) =>
        Check(LChown(path, uid, gid), "lchown", path);

    /// <summary>Sets access and modification time to <paramref name="unixSeconds"/> without following a symbolic link, as the kernel's initramfs unpacker does.</summary>
    /// <exception cref="IOException">The call failed.</exception>
    public static void SetTimes(string path, long unixSeconds)
    {
        var times = stackalloc Timespec[2];
        times[0] = new Timespec(unixSeconds, 0);
        times[1] = new Timespec(unixSeconds, 0);
        Check(UtimensAt(AtFdCwd, path, times, AtSymlinkNoFollow), "utimensat", path);
    }

    /// <summary>Creates a device node, FIFO or socket file.</summary>
    /// <exception cref="IOException">The call failed (devices need root).</exception>
    public static void MakeNode(string path, int mode, uint major, uint minor)
    {
        // glibc's makedev: the device number's bit layout since Linux 2.6.
        var device = ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);
        Check(MkNod(path, (uint)mode, device), "mknod", path);
    }

    /// <summary>Sends a signal; returns false when the process is already gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    private static void Check(int result, string call, string path)
    {
        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensAt(int directory, string path, Timespec* times, int flags);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkNod(string path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Timespec(long seconds, long nanoseconds)
    {
        public readonly long Seconds = seconds;
        public readonly long Nanoseconds = nanoseconds;
    }
}

using System.Runtime.InteropServices;

namespace Cloister.Runtime.Nsm;

/// <summary><c>struct nsm_iovec</c> from Linux <c>include/uapi/linux/nsm.h</c>: a user buffer's address and length.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NsmIovec
{
    public ulong Address;
    public ulong Length;
}

/// <summary><c>struct nsm_raw</c>: the request buffer, then the response buffer whose length the driver overwrites.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NsmRaw
{
    public const int Size = 32;

    /// <summary><c>NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw)</c>.</summary>
    public static readonly nuint IoctlRaw = IoctlReadWrite(0x0A, 0, Size);

    public NsmIovec Request;
    public NsmIovec Response;

    /// <summary>Linux <c>_IOWR(type, nr, size)</c> on x86_64 and arm64: direction bits 30–31, size 16–29, type 8–15, number 0–7.</summary>
    internal static nuint IoctlReadWrite(uint type, uint number, int size)
    {
        const uint read = 2, write = 1;
        return ((read | write) << 30) | ((uint)size << 16) | (type << 8) | number;
    }
}

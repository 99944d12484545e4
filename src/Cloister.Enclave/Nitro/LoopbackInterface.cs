using System.Buffers.Binary;
using System.Text;

namespace Cloister.Enclave.Nitro;

/// <summary>
/// Brings up <c>lo</c>, which a Nitro enclave boots with down (AWS init does not touch it), so the app, the local API
/// and the egress proxy can use 127.0.0.1. In simulation bubblewrap's fresh network namespace already has it up.
/// </summary>
internal static class LoopbackInterface
{
    public const string Name = "lo";

    // struct ifreq: char ifr_name[IFNAMSIZ = 16], then a union whose short ifr_flags is all we use; 40 bytes on x86-64.
    private const int IfreqSize = 40;
    private const int FlagsOffset = 16;
    private const short Up = 0x1;
    private const short Running = 0x40;

    /// <exception cref="IOException">The socket or an ioctl failed; the message names the call.</exception>
    public static unsafe void BringUp()
    {
        var fd = NitroInterop.Socket(NitroInterop.AfInet, NitroInterop.SockDgram, 0);
        if (fd < 0)
        {
            throw NitroInterop.LastError("socket(AF_INET, SOCK_DGRAM)");
        }

        try
        {
            Span<byte> ifreq = stackalloc byte[IfreqSize];
            WriteName(ifreq);
            fixed (byte* request = ifreq)
            {
                if (NitroInterop.Ioctl(fd, NitroInterop.SiocGetInterfaceFlags, request) != 0)
                {
                    throw NitroInterop.LastError($"ioctl(SIOCGIFFLAGS, {Name})");
                }

                var flags = BinaryPrimitives.ReadInt16LittleEndian(ifreq[FlagsOffset..]);
                BinaryPrimitives.WriteInt16LittleEndian(ifreq[FlagsOffset..], (short)(flags | Up | Running));
                if (NitroInterop.Ioctl(fd, NitroInterop.SiocSetInterfaceFlags, request) != 0)
                {
                    throw NitroInterop.LastError($"ioctl(SIOCSIFFLAGS, {Name})");
                }
            }
        }
        finally
        {
            _ = NitroInterop.Close(fd);
        }
    }

    internal static void WriteName(Span<byte> ifreq)
    {
        ifreq.Clear();
        Encoding.ASCII.GetBytes(Name, ifreq);
    }
}

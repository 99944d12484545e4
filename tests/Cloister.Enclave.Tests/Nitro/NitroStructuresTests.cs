using Cloister.Enclave.Nitro;

namespace Cloister.Enclave.Tests.Nitro;

/// <summary>
/// The byte layouts handed to the kernel on Nitro. The ioctls themselves need the enclave (CAP_NET_ADMIN on a fresh
/// network namespace's lo, CAP_SYS_ADMIN for RNDADDENTROPY), so only what we build for them is checked here.
/// </summary>
public sealed class NitroStructuresTests
{
    [Fact]
    public void Rand_pool_info_is_entropy_bits_then_byte_count_then_the_bytes()
    {
        byte[] random = [0xde, 0xad, 0xbe, 0xef, 0x01];

        var info = EntropySeeder.RandPoolInfo(random);

        Assert.Equal<byte>([40, 0, 0, 0, 5, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x01], info);
    }

    [Fact]
    public void Ifreq_starts_with_the_nul_padded_interface_name()
    {
        Span<byte> ifreq = stackalloc byte[40];
        ifreq.Fill(0xff);

        LoopbackInterface.WriteName(ifreq);

        Assert.Equal<byte>([(byte)'l', (byte)'o', .. new byte[38]], ifreq.ToArray());
    }
}

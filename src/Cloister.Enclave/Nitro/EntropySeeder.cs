using System.Buffers.Binary;
using Cloister.Attestation.Nsm;
using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Nitro;

/// <summary>
/// Credits the kernel's entropy pool with NSM randomness (<c>RNDADDENTROPY</c> on <c>/dev/random</c>): an enclave has no
/// other entropy source at boot, and a starved pool blocks <c>getrandom</c> in the app and in our own TLS.
/// </summary>
internal static class EntropySeeder
{
    public const string RandomDevice = "/dev/random";

    /// <summary>Asks the NSM for random bytes and adds them to the pool, crediting 8 bits per byte; returns how many.</summary>
    /// <exception cref="IOException">The NSM or the ioctl failed.</exception>
    public static async Task<int> SeedAsync(NsmDevice nsm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nsm);
        var response = NsmCodec.DecodeResponse(await nsm.ExchangeAsync(NsmCodec.Encode(GetRandomRequest.Instance), cancellationToken));
        var random = response is GetRandomResponse { Random: { Length: > 0 } bytes }
            ? bytes
            : throw new IOException($"NSM GetRandom answered {response.GetType().Name} instead of random bytes");
        AddEntropy(random);
        return random.Length;
    }

    /// <summary>The <c>struct rand_pool_info</c> for <paramref name="random"/>: entropy_count in bits, buf_size, then the bytes.</summary>
    internal static byte[] RandPoolInfo(ReadOnlySpan<byte> random)
    {
        var info = new byte[8 + random.Length];
        BinaryPrimitives.WriteInt32LittleEndian(info, random.Length * 8);
        BinaryPrimitives.WriteInt32LittleEndian(info.AsSpan(4), random.Length);
        random.CopyTo(info.AsSpan(8));
        return info;
    }

    private static unsafe void AddEntropy(ReadOnlySpan<byte> random)
    {
        using var device = File.OpenHandle(RandomDevice, FileMode.Open, FileAccess.Write);
        var info = RandPoolInfo(random);
        fixed (byte* argument = info)
        {
            if (NitroInterop.Ioctl(device, NitroInterop.RndAddEntropy, argument) != 0)
            {
                throw NitroInterop.LastError($"ioctl(RNDADDENTROPY, {RandomDevice})");
            }
        }
    }
}

using Cloister.Attestation.Nsm;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>What the codec decodes it must encode, and decode again to the same bytes: a message that does not survive
/// the trip would be answered differently by the simulated NSM than it was asked.</summary>
internal static class NsmRoundTrip
{
    public static void Check<T>(T message, Func<byte[], T> decode)
        where T : NsmMessage
    {
        var encoded = NsmCodec.Encode(message);
        var again = NsmCodec.Encode(decode(encoded));
        if (!encoded.AsSpan().SequenceEqual(again))
        {
            throw new InvalidOperationException($"{message.GetType().Name} does not survive encode-decode-encode: {Convert.ToHexString(encoded)} became {Convert.ToHexString(again)}");
        }
    }

    public static Seed Seed(string name, NsmMessage message) => new(name, NsmCodec.Encode(message));
}

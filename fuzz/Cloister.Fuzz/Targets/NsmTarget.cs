using Cloister.Attestation.Nsm;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// One side of the NSM codec: decode, then the round trip. What the codec decodes it must encode, and decode again to
/// the same bytes: a message that does not survive the trip would be answered differently by the simulated NSM than
/// it was asked.
/// </summary>
internal sealed class NsmTarget(string name, string summary, Func<byte[], NsmMessage> decode, Func<NsmMessage[]> seeds) : FuzzTarget
{
    public static NsmTarget Requests { get; } = new(
        "nsm-request",
        "NsmCodec.DecodeRequest, then encode and decode again",
        static bytes => NsmCodec.DecodeRequest(bytes),
        static () =>
        [
            new DescribePcrRequest(3), new ExtendPcrRequest(16, [1, 2, 3, 4]), new LockPcrRequest(16), new LockPcrsRequest(20),
            DescribeNsmRequest.Instance, new AttestationRequest([1, 2], [3, 4, 5], null), new AttestationRequest(), GetRandomRequest.Instance,
        ]);

    public static NsmTarget Responses { get; } = new(
        "nsm-response",
        "NsmCodec.DecodeResponse, then encode and decode again",
        static bytes => NsmCodec.DecodeResponse(bytes),
        static () =>
        [
            new DescribePcrResponse(true, new byte[48]), new ExtendPcrResponse(new byte[48]), LockPcrResponse.Instance, LockPcrsResponse.Instance,
            new DescribeNsmResponse(1, 0, 0, "i-0123456789abcdef0-enc0123456789abcdef", 32, [0, 1, 2, 3, 4, 15], NsmDigest.Sha384),
            new AttestationResponse([0x84, 0x40, 0xA0, 0x40, 0x40]), new GetRandomResponse(new byte[32]), new NsmErrorResponse(NsmErrorCode.InvalidIndex),
        ]);

    public override string Name => name;

    public override string Summary => summary;

    public override void Run(byte[] input)
    {
        NsmMessage message;
        try
        {
            message = decode(input);
        }
        catch (NsmFormatException)
        {
            return;
        }

        var encoded = NsmCodec.Encode(message);
        var again = NsmCodec.Encode(decode(encoded));
        if (!encoded.AsSpan().SequenceEqual(again))
        {
            throw new InvalidOperationException($"{message.GetType().Name} does not survive encode-decode-encode: {Convert.ToHexString(encoded)} became {Convert.ToHexString(again)}");
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
        seeds().Select((message, i) => new Seed($"{i:00}-{message.GetType().Name}", NsmCodec.Encode(message)));
}

using Cloister.Attestation.Nsm;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The NSM response decoder (what the enclave reads from the NSM), with an encode round trip.</summary>
internal sealed class NsmResponseTarget : FuzzTarget
{
    public override string Name => "nsm-response";

    public override string Summary => "NsmCodec.DecodeResponse, then encode and decode again";

    public override void Run(byte[] input)
    {
        NsmResponse response;
        try
        {
            response = NsmCodec.DecodeResponse(input);
        }
        catch (NsmFormatException)
        {
            return;
        }

        NsmRoundTrip.Check(response, static bytes => NsmCodec.DecodeResponse(bytes));
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        NsmRoundTrip.Seed("describe-pcr", new DescribePcrResponse(true, new byte[48])),
        NsmRoundTrip.Seed("extend-pcr", new ExtendPcrResponse(new byte[48])),
        NsmRoundTrip.Seed("lock-pcr", LockPcrResponse.Instance),
        NsmRoundTrip.Seed("lock-pcrs", LockPcrsResponse.Instance),
        NsmRoundTrip.Seed("describe-nsm", new DescribeNsmResponse(1, 0, 0, "i-0123456789abcdef0-enc0123456789abcdef", 32, [0, 1, 2, 3, 4, 15], NsmDigest.Sha384)),
        NsmRoundTrip.Seed("attestation", new AttestationResponse([0x84, 0x40, 0xA0, 0x40, 0x40])),
        NsmRoundTrip.Seed("get-random", new GetRandomResponse(new byte[32])),
        NsmRoundTrip.Seed("error", new NsmErrorResponse(NsmErrorCode.InvalidIndex)),
    ];
}

using Cloister.Attestation.Nsm;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The NSM request decoder (what the simulated NSM reads from the enclave), with an encode round trip.</summary>
internal sealed class NsmRequestTarget : FuzzTarget
{
    public override string Name => "nsm-request";

    public override string Summary => "NsmCodec.DecodeRequest, then encode and decode again";

    public override void Run(byte[] input)
    {
        NsmRequest request;
        try
        {
            request = NsmCodec.DecodeRequest(input);
        }
        catch (NsmFormatException)
        {
            return;
        }

        NsmRoundTrip.Check(request, static bytes => NsmCodec.DecodeRequest(bytes));
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        NsmRoundTrip.Seed("describe-pcr", new DescribePcrRequest(3)),
        NsmRoundTrip.Seed("extend-pcr", new ExtendPcrRequest(16, [1, 2, 3, 4])),
        NsmRoundTrip.Seed("lock-pcr", new LockPcrRequest(16)),
        NsmRoundTrip.Seed("lock-pcrs", new LockPcrsRequest(20)),
        NsmRoundTrip.Seed("describe-nsm", DescribeNsmRequest.Instance),
        NsmRoundTrip.Seed("attestation", new AttestationRequest([1, 2], [3, 4, 5], null)),
        NsmRoundTrip.Seed("attestation-empty", new AttestationRequest()),
        NsmRoundTrip.Seed("get-random", GetRandomRequest.Instance),
    ];
}

using Cloister.Build.Eif;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The EIF signature section: serde_cbor array of {signing_certificate, signature}, PEM, COSE check.</summary>
internal sealed class EifSignatureTarget : FuzzTarget
{
    public override string Name => "eif-signature";

    public override string Summary => "EifSignature.Parse (serde_cbor section, PEM certificate) + Verify";

    public override void Run(byte[] input)
    {
        try
        {
            using var signature = EifSignature.Parse(input, 0);
            _ = signature.Verify(new byte[48]);
            _ = signature.Pcr8;
        }
        catch (EifFormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) => [new("synthetic-signed.sig", EifSeeds.SignatureSection(sources))];
}

using Cloister.Attestation.Documents;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The attestation document decoder: COSE_Sign1 envelope, protected header and the CBOR payload.</summary>
internal sealed class AttestationDocumentTarget : FuzzTarget
{
    public override string Name => "attestation-document";

    public override string Summary => "AttestationDocumentDecoder.Decode (COSE_Sign1 envelope + payload CDDL)";

    public override void Run(byte[] input)
    {
        try
        {
            var decoded = AttestationDocumentDecoder.Decode(input);
            _ = decoded.Document.Pcrs.Count + decoded.Document.CaBundle.Count;
        }
        catch (AttestationFormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) => AttestationSeeds.Documents(sources);
}

using System.Text;
using Cloister.Attestation.Verification;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The measurements JSON that <c>cloister attest --pcrs</c> and the client read (nitro-cli's output).</summary>
internal sealed class PcrMeasurementsTarget : FuzzTarget
{
    public override string Name => "pcr-measurements";

    public override string Summary => "PcrPolicy.ReadMeasurements (nitro-cli measurements JSON)";

    public override void Run(byte[] input)
    {
        try
        {
            _ = PcrPolicy.FromMeasurementsJson(input).Sets.Count;
        }
        catch (FormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        sources.FileSeed("tests/vectors/eif/published/nitro-cli-hello-v1-pcrs.json"),
        new("describe-eif.json", Encoding.UTF8.GetBytes($$"""
            {"EifVersion":4,"Measurements":{"HashAlgorithm":"Sha384 { ... }","PCR0":"{{new string('a', 96)}}","PCR1":"{{new string('B', 96)}}","PCR8":"{{new string('0', 64)}}"},"IsSigned":false}
            """)),
    ];
}

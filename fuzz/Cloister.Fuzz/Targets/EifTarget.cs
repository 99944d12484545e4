using Cloister.Build.Eif;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The EIF reader as <c>cloister describe-eif</c> drives it: header, section table, metadata, inspection.</summary>
internal sealed class EifTarget : FuzzTarget
{
    public override string Name => "eif";

    public override string Summary => "EifReader: header, section table, ReadMetadata, Inspect (CRC, PCRs, signature)";

    public override void Run(byte[] input)
    {
        try
        {
            using var reader = new EifReader(new MemoryStream(input, writable: false));
            _ = reader.ReadMetadata();
            using var inspection = reader.Inspect();
            _ = inspection.CrcMatches;
        }
        catch (EifFormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        sources.FileSeed("tests/vectors/eif/derived/synthetic-unsigned.eif"),
        sources.FileSeed("tests/vectors/eif/derived/synthetic-signed.eif"),
    ];
}

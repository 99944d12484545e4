using Cloister.Build.Eif;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The signed synthetic EIF of the test vectors, taken apart: its signature section and its PCR0 signature.</summary>
internal static class EifSeeds
{
    public const string SignedEif = "tests/vectors/eif/derived/synthetic-signed.eif";

    public static byte[] SignatureSection(SeedSources sources)
    {
        using var reader = new EifReader(new MemoryStream(sources.File(SignedEif), writable: false));
        using var section = reader.OpenSection(reader.Sections.Single(s => s.Type == EifSectionType.Signature));
        using var copy = new MemoryStream();
        section.CopyTo(copy);
        return copy.ToArray();
    }
}

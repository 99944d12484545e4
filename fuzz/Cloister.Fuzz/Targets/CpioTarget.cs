using Cloister.Build.Cpio;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The newc cpio reader, every entry and its data read to the end.</summary>
internal sealed class CpioTarget : FuzzTarget
{
    public override string Name => "cpio";

    public override string Summary => "CpioReader.GetNextEntry over the whole archive, data streams drained";

    public override void Run(byte[] input)
    {
        try
        {
            using var reader = new CpioReader(new MemoryStream(input, writable: false));
            while (reader.GetNextEntry() is { } entry)
            {
                entry.DataStream?.CopyTo(Stream.Null);
            }
        }
        catch (CpioFormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        sources.FileSeed("tests/vectors/eif/derived/synthetic-bootstrap.cpio"),
        sources.FileSeed("tests/vectors/eif/derived/synthetic-customer.cpio"),
    ];
}

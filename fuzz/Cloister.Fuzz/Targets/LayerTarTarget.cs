using Cloister.Build.Layers;
using Cloister.Build.Ramdisks;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// Layer flattening: the input is an uncompressed tar layer applied over a fixed lower layer (so whiteouts, opaque
/// directories and links to lower paths have something to act on); the flattened tree is then exported, every file
/// read back, and written as the customer ramdisk, as <c>cloister build</c> does.
/// </summary>
internal sealed class LayerTarTarget : FuzzTarget
{
    private readonly byte[] _base = LayerTars.Base();

    public override string Name => "layer-tar";

    public override string Summary => "LayerFlattener.ApplyLayer (tar, whiteouts, links) + Export + customer ramdisk";

    public override void Run(byte[] input)
    {
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = Path.GetTempPath(), MaxTotalSize = 64 << 20 });
        flattener.ApplyLayer(new MemoryStream(_base, writable: false), "base");
        try
        {
            flattener.ApplyLayer(new MemoryStream(input, writable: false), "fuzzed");
        }
        catch (LayerException)
        {
            return;
        }

        foreach (var entry in flattener.Export())
        {
            using var content = entry.OpenRead();
            content.CopyTo(Stream.Null);
        }

        try
        {
            var options = CustomerRamdiskOptions.FromImageConfig(["/usr/bin/app"], null, ["PATH=/usr/bin"]);
            CustomerRamdiskLayout.Write(Stream.Null, flattener, options);
        }
        catch (FormatException)
        {
            // Documented: an mtime or owner ID that does not fit cpio's 32-bit fields.
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        new("upper-pax.tar", LayerTars.Upper(System.Formats.Tar.TarEntryFormat.Pax)),
        new("upper-gnu.tar", LayerTars.Upper(System.Formats.Tar.TarEntryFormat.Gnu)),
        new("upper-ustar.tar", LayerTars.Upper(System.Formats.Tar.TarEntryFormat.Ustar)),
        new("base-v7.tar", LayerTars.Base(System.Formats.Tar.TarEntryFormat.V7)),
    ];
}

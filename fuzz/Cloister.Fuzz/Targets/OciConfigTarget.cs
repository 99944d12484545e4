using System.Text;
using Cloister.Build.Images;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The image config reader: platform, rootfs.diff_ids, history, run settings.</summary>
internal sealed class OciConfigTarget : FuzzTarget
{
    public override string Name => "oci-config";

    public override string Summary => "ImageConfigReader.Read (OCI / Docker image config JSON)";

    public override void Run(byte[] input)
    {
        try
        {
            var config = ImageConfigReader.Read(input, "config");
            _ = config.DiffIds.Count;
        }
        catch (ImageSourceException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        var blobs = new OciBlobs();
        yield return new Seed("config.json", blobs[blobs.Config]);
        yield return new Seed("minimal.json", Encoding.UTF8.GetBytes("""{"rootfs":{"type":"layers","diff_ids":[]}}"""));
    }
}

using System.Text;
using Cloister.Build.Images;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The manifest walk: index (platform choice, nesting) → manifest (media types, descriptors) → config → layers.</summary>
internal sealed class OciManifestTarget : FuzzTarget
{
    private const string RootDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    private readonly Lazy<OciBlobs> _blobs = new(() => new OciBlobs());
    private readonly Lazy<ImageReference> _reference = new(() => ImageReference.Parse("oci-layout:/fuzz:latest"));

    public override string Name => "oci-manifest";

    public override string Summary => "ManifestResolver.ResolveAsync (index/manifest JSON, descriptors, platforms) over fixed blobs";

    public override void Run(byte[] input)
    {
        // The root's digest is taken on trust here: the layout and registry sources verify it before this walk.
        var root = new RootManifest(input, null, RootDigest);
        try
        {
            var image = ManifestResolver.ResolveAsync(_reference.Value, root, _blobs.Value, ImagePlatform.LinuxAmd64, CancellationToken.None).GetAwaiter().GetResult();
            _ = image.Layers.Count + image.Configuration.DiffIds.Count;
        }
        catch (ImageSourceException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        var blobs = _blobs.Value;
        yield return new Seed("manifest.json", blobs[blobs.Manifest]);
        yield return new Seed("index.json", blobs[blobs.Index]);
        yield return new Seed("nested-index.json", Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"manifests":[{"mediaType":"{{ImageMediaTypes.OciIndex}}","digest":"{{blobs.Index.Digest}}","size":{{blobs.Index.Size}},"platform":{"architecture":"amd64","os":"linux"} ]}
            """));
        yield return new Seed("docker-manifest.json", Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{ImageMediaTypes.DockerManifest}}",
             "config":{"mediaType":"{{ImageMediaTypes.DockerConfig}}","digest":"{{blobs.Config.Digest}}","size":{{blobs.Config.Size}} },
             "layers":[{"mediaType":"{{ImageMediaTypes.DockerLayerGzip}}","digest":"sha256:{{new string('0', 64)}}","size":10}]}
            """));
    }
}

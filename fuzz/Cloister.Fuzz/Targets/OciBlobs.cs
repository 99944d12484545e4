using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Images;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// A fixed blob store for the manifest walk: a config, a manifest that names it, and an index that names the manifest,
/// each found by its digest exactly as in an OCI layout or a registry. Seeds point at them, so a mutated root that
/// keeps a reference reaches the next document.
/// </summary>
internal sealed class OciBlobs : IBlobReader
{
    public const string LayerDigest = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

    private readonly Dictionary<string, byte[]> _blobs = [];

    public OciBlobs()
    {
        Config = Add("""
            {"created":"2025-01-01T00:00:00Z","architecture":"amd64","os":"linux",
             "config":{"Entrypoint":["/app"],"Cmd":["--port","8080"],"Env":["PATH=/usr/bin"],"WorkingDir":"/","User":"1000:1000"},
             "rootfs":{"type":"layers","diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"]},
             "history":[{"created":"2025-01-01T00:00:00Z","created_by":"cloister image pack","empty_layer":false}]}
            """);
        Manifest = Add($$"""
            {"schemaVersion":2,"mediaType":"{{ImageMediaTypes.OciManifest}}",
             "config":{"mediaType":"{{ImageMediaTypes.OciConfig}}","digest":"{{Config.Digest}}","size":{{Config.Size}} },
             "layers":[{"mediaType":"{{ImageMediaTypes.OciLayer}}","digest":"{{LayerDigest}}","size":1024}]}
            """);
        Index = Add($$"""
            {"schemaVersion":2,"mediaType":"{{ImageMediaTypes.OciIndex}}","manifests":[
             {"mediaType":"{{ImageMediaTypes.OciManifest}}","digest":"{{Manifest.Digest}}","size":{{Manifest.Size}},"platform":{"architecture":"arm64","os":"linux","variant":"v8"} },
             {"mediaType":"{{ImageMediaTypes.OciManifest}}","digest":"{{Manifest.Digest}}","size":{{Manifest.Size}},"platform":{"architecture":"amd64","os":"linux"} ]}
            """);
    }

    public ImageDescriptor Config { get; }

    public ImageDescriptor Manifest { get; }

    public ImageDescriptor Index { get; }

    public byte[] this[ImageDescriptor descriptor] => _blobs[descriptor.Digest];

    public Task<Stream> OpenBlobAsync(ImageDescriptor descriptor, CancellationToken cancellationToken) =>
        _blobs.TryGetValue(descriptor.Digest, out var blob)
            ? Task.FromResult<Stream>(new MemoryStream(blob, writable: false))
            : throw new ImageSourceException(ImageSourceError.NotFound, $"blob {descriptor.Digest} not found");

    private ImageDescriptor Add(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var digest = $"sha256:{Convert.ToHexStringLower(SHA256.HashData(bytes))}";
        _blobs[digest] = bytes;
        return new ImageDescriptor(string.Empty, digest, bytes.Length);
    }
}

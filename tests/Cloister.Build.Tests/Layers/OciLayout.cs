using System.IO.Compression;
using System.Text.Json;

namespace Cloister.Build.Tests.Layers;

/// <summary>Test-only reader of an OCI image layout: the layers of one tag, oldest first, as uncompressed tar streams.</summary>
internal static class OciLayout
{
    public static IReadOnlyList<(string Digest, Func<Stream> Open)> Layers(string layoutDirectory, string tag)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layoutDirectory, "index.json")));
        var manifestDigest = index.RootElement.GetProperty("manifests").EnumerateArray()
            .Single(m => m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString() == tag)
            .GetProperty("digest").GetString()!;
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Blob(layoutDirectory, manifestDigest)));
        return manifest.RootElement.GetProperty("layers").EnumerateArray()
            .Select(layer =>
            {
                var digest = layer.GetProperty("digest").GetString()!;
                var gzip = layer.GetProperty("mediaType").GetString()!.EndsWith("+gzip", StringComparison.Ordinal);
                var path = Blob(layoutDirectory, digest);
                return (digest, (Func<Stream>)(() => gzip ? new GZipStream(File.OpenRead(path), CompressionMode.Decompress) : File.OpenRead(path)));
            })
            .ToList();
    }

    private static string Blob(string layoutDirectory, string digest)
    {
        var parts = digest.Split(':', 2);
        return Path.Combine(layoutDirectory, "blobs", parts[0], parts[1]);
    }
}

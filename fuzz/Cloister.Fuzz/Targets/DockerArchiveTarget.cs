using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Images;
using Cloister.Build.Layers;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// A <c>docker save</c> archive as <c>cloister build</c> reads it: the tar's member index, manifest.json, the config
/// (checked against its name), each layer described and then flattened. The input is written to a file first, since
/// the source reads archives from disk.
/// </summary>
internal sealed class DockerArchiveTarget : FuzzTarget
{
    public override string Name => "docker-archive";

    public override string Summary => "DockerArchiveImageSource.ResolveAsync (tar index, manifest.json, config) + layers flattened";

    public override void Run(byte[] input)
    {
        var path = Path.Combine(Path.GetTempPath(), $"docker-archive-{Environment.ProcessId}.tar");
        File.WriteAllBytes(path, input);
        try
        {
            using var source = new DockerArchiveImageSource(ImageReference.Parse($"docker-archive:{path}"));
            var image = source.ResolveAsync().GetAwaiter().GetResult();
            using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = Path.GetTempPath(), MaxTotalSize = 64 << 20 });
            foreach (var layer in image.Layers)
            {
                using var stream = layer.OpenAsync().GetAwaiter().GetResult();
                flattener.ApplyLayer(stream, layer.Descriptor.Digest);
            }
        }
        catch (ImageSourceException)
        {
        }
        catch (LayerException)
        {
        }
        finally
        {
            File.Delete(path);
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        var layer = LayerTars.Base(TarEntryFormat.Ustar);
        yield return new Seed("docker-save.tar", Archive(layer, compressed: false));
        yield return new Seed("docker-25-oci.tar", Archive(Gzip(layer), compressed: true));
    }

    private static byte[] Archive(byte[] layer, bool compressed)
    {
        var diffId = Hex(compressed ? Gunzip(layer) : layer);
        var config = Encoding.UTF8.GetBytes($$"""
            {"architecture":"amd64","os":"linux","config":{"Cmd":["/usr/bin/app"]},"rootfs":{"type":"layers","diff_ids":["sha256:{{diffId}}"] } }
            """);
        var configName = compressed ? $"blobs/sha256/{Hex(config)}" : $"{Hex(config)}.json";
        var layerName = compressed ? $"blobs/sha256/{Hex(layer)}" : $"{diffId}/layer.tar";
        var manifest = Encoding.UTF8.GetBytes($$"""[{"Config":"{{configName}}","RepoTags":["app:v1"],"Layers":["{{layerName}}"]}]""");
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in new[] { (configName, config), (layerName, layer), ("manifest.json", manifest) })
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), ModificationTime = DateTimeOffset.UnixEpoch });
            }
        }

        return output.ToArray();
    }

    private static string Hex(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress))
        {
            gzip.CopyTo(output);
        }

        return output.ToArray();
    }
}

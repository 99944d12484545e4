using System.IO.Compression;
using System.Security.Cryptography;
using Cloister.Build.Images;
using Cloister.Build.Layers;
using Cloister.Fuzz.Harness;
using ZstdSharp;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// A layer blob as an image source hands it over: gzip, zstd or plain by its magic, verified against its digest while
/// it is decompressed, and flattened. The blob digest is the input's own, so verification passes; the diff_id is
/// that of the base layer, so a blob that decompresses to anything else ends in the documented digest mismatch.
/// </summary>
internal sealed class LayerBlobTarget : FuzzTarget
{
    private readonly string _diffId = Digest(LayerTars.Base());

    public override string Name => "layer-blob";

    public override string Summary => "ImageLayer.OpenAsync (gzip/zstd decompression, digest checks) into LayerFlattener";

    public override void Run(byte[] input)
    {
        var mediaType = input switch
        {
            [0x1f, 0x8b, ..] => ImageMediaTypes.OciLayerGzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => ImageMediaTypes.OciLayerZstd,
            _ => ImageMediaTypes.OciLayer,
        };
        var descriptor = new ImageDescriptor(mediaType, Digest(input), input.Length);
        var compression = ImageMediaTypes.LayerCompressionOf(mediaType, descriptor.Digest);
        var diffId = compression == LayerCompression.None ? descriptor.Digest : _diffId;
        var layer = new ImageLayer(descriptor, diffId, compression, _ => Task.FromResult<Stream>(new MemoryStream(input, writable: false)));
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = Path.GetTempPath(), MaxTotalSize = 64 << 20 });
        try
        {
            using var stream = layer.OpenAsync().GetAwaiter().GetResult();
            flattener.ApplyLayer(stream, descriptor.Digest);
        }
        catch (LayerException)
        {
        }
        catch (ImageSourceException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        var tar = LayerTars.Base();
        yield return new Seed("base.tar.gz", Compress(tar, output => new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true)));
        yield return new Seed("base.tar.zst", Compress(tar, output => new CompressionStream(output, level: 19, leaveOpen: true)));
        yield return new Seed("upper.tar", LayerTars.Upper(System.Formats.Tar.TarEntryFormat.Pax));
    }

    private static string Digest(byte[] content) => $"sha256:{Convert.ToHexStringLower(SHA256.HashData(content))}";

    private static byte[] Compress(byte[] data, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream();
        using (var compressing = compressor(output))
        {
            compressing.Write(data);
        }

        return output.ToArray();
    }
}

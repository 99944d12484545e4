using System.IO.Compression;
using Cloister.Build.Images;
using Cloister.Build.Tests.Layers;
using ZstdSharp;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// Compressed layers whose blob digest and diff_id both match but whose compression is malformed: refused as Docker
/// (Go's gzip and zstd readers) refuses them, while well-formed multi-member and multi-frame blobs are read.
/// </summary>
public sealed class CompressedLayerTests
{
    private static readonly byte[] s_tar = new LayerTar().Directory("etc/").File("etc/motd", "hello").File("data", new byte[70_000]).ToArray();

    [Fact]
    public async Task Gzip_members_back_to_back_make_one_layer()
    {
        var half = s_tar.Length / 2;

        var entries = await LayerContents.ReadAsync(Layer(LayerCompression.Gzip, [.. Gzip(s_tar[..half]), .. Gzip(s_tar[half..])]));

        Assert.Equal(["Directory etc/", "RegularFile etc/motd hello", "RegularFile data"], entries);
    }

    [Theory]
    [InlineData("zeros")]
    [InlineData("garbage")]
    public async Task A_gzip_layer_with_bytes_after_its_last_member_is_refused(string trailer)
    {
        byte[] extra = trailer == "zeros" ? new byte[1024] : "not gzip"u8.ToArray();
        var blob = Gzip(s_tar).Concat(extra).ToArray();

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => LayerContents.ReadAsync(Layer(LayerCompression.Gzip, blob)));

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains("cannot be decompressed although its blob digest matches", error.Message, StringComparison.Ordinal);
        Assert.EndsWith($"the data after the last gzip member, from byte {blob.Length - extra.Length}, is not a gzip member", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_layer_without_its_crc_and_length_is_refused_although_its_content_is_whole()
    {
        var blob = Gzip(s_tar)[..^8];

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => LayerContents.ReadAsync(Layer(LayerCompression.Gzip, blob)));

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.EndsWith("the gzip stream ends inside member 1, which starts at byte 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zstd_frames_back_to_back_and_skippable_frames_make_one_layer()
    {
        var half = s_tar.Length / 2;
        byte[] skippable = [0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];

        var entries = await LayerContents.ReadAsync(Layer(LayerCompression.Zstd, [.. Zstd(s_tar[..half]), .. skippable, .. Zstd(s_tar[half..])]));

        Assert.Equal(3, entries.Count);
    }

    [Theory]
    [InlineData("zeros")]
    [InlineData("garbage")]
    [InlineData("cut")]
    public async Task A_zstd_layer_with_bytes_after_its_last_frame_or_cut_short_is_refused(string damage)
    {
        var frame = Zstd(s_tar);
        var blob = damage switch
        {
            "zeros" => [.. frame, .. new byte[1024]],
            "garbage" => [.. frame, .. "not zstd"u8],
            _ => frame[..^3],
        };

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => LayerContents.ReadAsync(Layer(LayerCompression.Zstd, blob)));

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains("cannot be decompressed although its blob digest matches", error.Message, StringComparison.Ordinal);
    }

    private static ImageLayer Layer(LayerCompression compression, byte[] blob)
    {
        var mediaType = compression == LayerCompression.Gzip ? ImageMediaTypes.OciLayerGzip : ImageMediaTypes.OciLayerZstd;
        var descriptor = new ImageDescriptor(mediaType, BlobDigest.Compute(blob).ToString(), blob.Length);
        return new ImageLayer(descriptor, BlobDigest.Compute(s_tar).ToString(), compression, _ => Task.FromResult<Stream>(new MemoryStream(blob)));
    }

    private static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    private static byte[] Zstd(byte[] content)
    {
        using var compressor = new Compressor(3);
        return compressor.Wrap(content).ToArray();
    }
}

using System.Text;
using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images;

/// <summary>Manifests that are wrong in one field each, resolved from in-memory blobs: the error names the field.</summary>
public sealed class ManifestResolverTests
{
    private const string Config = """{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}}""";
    private static readonly ImageReference s_reference = ImageReference.Parse("127.0.0.1:5000/app:v1");

    private sealed class MemoryBlobs : IBlobReader
    {
        public Dictionary<string, byte[]> Blobs { get; } = [];

        public string Add(string json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var digest = BlobDigest.Compute(bytes).ToString();
            Blobs[digest] = bytes;
            return digest;
        }

        public Task<Stream> OpenBlobAsync(ImageDescriptor descriptor, CancellationToken cancellationToken) =>
            Task.FromResult<Stream>(new MemoryStream(Blobs[descriptor.Digest]));
    }

    private static Task<ContainerImage> ResolveAsync(MemoryBlobs blobs, string manifest, string? mediaType = null)
    {
        var bytes = Encoding.UTF8.GetBytes(manifest);
        return ManifestResolver.ResolveAsync(
            s_reference, new RootManifest(bytes, mediaType, BlobDigest.Compute(bytes).ToString()), blobs, ImagePlatform.LinuxAmd64, CancellationToken.None);
    }

    private static string Manifest(MemoryBlobs blobs, string layers, string config = Config, string configType = ImageMediaTypes.OciConfig)
    {
        var digest = blobs.Add(config);
        return $$"""{"schemaVersion":2,"config":{"mediaType":"{{configType}}","digest":"{{digest}}","size":{{Encoding.UTF8.GetByteCount(config)}}},"layers":{{layers}}}""";
    }

    private const string GzipLayer = """[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":10}]""";

    [Fact]
    public async Task A_manifest_string_that_is_not_utf8_is_malformed()
    {
        // Found by fuzz/ (oci-manifest): JsonDocument checks a string's UTF-8 only when the string is read, and threw
        // InvalidOperationException from there.
        byte[] manifest = [.. "{\"schemaVersion\":2,\"mediaType\":\""u8, 0xff, .. "\"}"u8];

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => ManifestResolver.ResolveAsync(
            s_reference, new RootManifest(manifest, null, BlobDigest.Compute(manifest).ToString()), new MemoryBlobs(), ImagePlatform.LinuxAmd64, CancellationToken.None));

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains("field 'mediaType' is not valid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_diff_id_that_is_not_utf8_is_malformed()
    {
        // Found by fuzz/ (oci-config), minimized with afl-tmin and by hand.
        byte[] config = [.. "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""u8, 0xff, .. "\"]}}"u8];

        var error = Assert.Throws<ImageSourceException>(() => ImageConfigReader.Read(config, "config"));

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains("field 'rootfs.diff_ids[0]' is not valid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_without_media_type_field_is_read_as_oci()
    {
        var blobs = new MemoryBlobs();

        var image = await ResolveAsync(blobs, Manifest(blobs, GzipLayer));

        Assert.Single(image.Layers);
        Assert.Equal(LayerCompression.Gzip, image.Layers[0].Compression);
        Assert.Equal("sha256:1111111111111111111111111111111111111111111111111111111111111111", image.Layers[0].DiffId);
    }

    [Theory]
    [InlineData("""[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:22","size":10}]""", "field 'layers[0].digest' is 'sha256:22'")]
    [InlineData("""[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222"}]""", "required field 'layers[0].size' is missing")]
    [InlineData("""[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":-1}]""", "field 'layers[0].size' must be a non-negative integer")]
    [InlineData("""{"not":"an array"}""", "field 'layers' must be an array")]
    [InlineData("[]", "rootfs.diff_ids has 1 entries but the image has 0 layers")]
    public async Task Malformed_manifests_name_the_field(string layers, string why)
    {
        var blobs = new MemoryBlobs();

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(blobs, Manifest(blobs, layers)));

        Assert.Equal(ImageSourceError.Malformed, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains(s_reference.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"rootfs":{"type":"layers","diff_ids":["sha256:x"]}}""", "rootfs.diff_ids[0]")]
    [InlineData("""{"rootfs":{"type":"overlay","diff_ids":[]}}""", "field 'rootfs.type' is 'overlay'")]
    [InlineData("""{"config":{"Env":"A=1"},"rootfs":{"type":"layers","diff_ids":[]}}""", "field 'config.Env' must be an array")]
    [InlineData("""{"created":"yesterday","rootfs":{"type":"layers","diff_ids":[]}}""", "field 'created' is 'yesterday', not an RFC 3339 time")]
    [InlineData("""{"history":[{"empty_layer":"yes"}],"rootfs":{"type":"layers","diff_ids":[]}}""", "field 'history[0].empty_layer' must be a boolean")]
    public async Task Malformed_configs_name_the_field(string config, string why)
    {
        var blobs = new MemoryBlobs();

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(blobs, Manifest(blobs, "[]", config)));

        Assert.Equal(ImageSourceError.Malformed, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains("config sha256:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"schemaVersion":1,"name":"app","tag":"v1","fsLayers":[]}""", null, "schemaVersion 1")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}""", null, "'application/vnd.example.thing+json'")]
    public async Task Schema_1_and_unknown_manifest_types_are_unsupported(string manifest, string? mediaType, string why)
    {
        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(new MemoryBlobs(), manifest, mediaType));

        Assert.Equal(ImageSourceError.UnsupportedMediaType, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Artifacts_and_unknown_layer_types_are_unsupported()
    {
        var blobs = new MemoryBlobs();
        var artifact = await Assert.ThrowsAsync<ImageSourceException>(
            () => ResolveAsync(blobs, Manifest(blobs, GzipLayer, configType: "application/vnd.cncf.helm.config.v1+json")));
        Assert.Equal(ImageSourceError.UnsupportedMediaType, artifact.Error);
        Assert.Contains("not a container image config", artifact.Message, StringComparison.Ordinal);

        var layer = await Assert.ThrowsAsync<ImageSourceException>(
            () => ResolveAsync(blobs, Manifest(blobs, GzipLayer.Replace("tar+gzip", "tar+lz4", StringComparison.Ordinal))));
        Assert.Equal(ImageSourceError.UnsupportedMediaType, layer.Error);
        Assert.Contains("'application/vnd.oci.image.layer.v1.tar+lz4'", layer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_uncompressed_layer_whose_digest_is_not_its_diff_id_is_refused()
    {
        var blobs = new MemoryBlobs();
        var layers = GzipLayer.Replace("tar+gzip", "tar", StringComparison.Ordinal);

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(blobs, Manifest(blobs, layers)));

        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains("is uncompressed, yet", ex.Message, StringComparison.Ordinal);
    }
}

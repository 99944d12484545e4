using System.Text.Json.Nodes;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

[Collection(RegistryFixtureGroup.Name)]
public sealed class LocalImageSourceTests(RegistryFixture fixture) : IDisposable
{
    private readonly ImageSourceScope _sources = new();

    public void Dispose() => _sources.Dispose();

    private Task<ContainerImage> ResolveAsync(string reference, ImagePlatform? platform = null) =>
        _sources.ResolveAsync(reference, fixture.NewOptions(), platform);

    [Fact]
    public async Task An_umoci_layout_resolves_to_its_config_and_gzip_layers()
    {
        var image = await ResolveAsync($"oci-layout:{fixture.Layout}:v1");

        ImageAssert.IsSampleConfig(image.Configuration);
        Assert.Equal(IndexEntry(fixture.Layout, "v1")["digest"]!.GetValue<string>(), image.ManifestDigest);
        Assert.Equal(ImageMediaTypes.OciConfig, image.Config.MediaType);
        Assert.All(image.Layers, l => Assert.Equal(LayerCompression.Gzip, l.Compression));
        Assert.Equal(image.Configuration.DiffIds, image.Layers.Select(l => l.DiffId));
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(image));
    }

    [Fact]
    public async Task Zstd_layers_from_skopeo_decompress_to_the_same_diff_ids()
    {
        var gzip = await ResolveAsync($"oci-layout:{fixture.Layout}:v1");
        var zstd = await ResolveAsync($"oci-layout:{fixture.ZstdLayout}");

        Assert.All(zstd.Layers, l => Assert.Equal(LayerCompression.Zstd, l.Compression));
        Assert.All(zstd.Layers, l => Assert.Equal(ImageMediaTypes.OciLayerZstd, l.Descriptor.MediaType));
        Assert.NotEqual(gzip.Layers.Select(l => l.Descriptor.Digest), zstd.Layers.Select(l => l.Descriptor.Digest));
        Assert.Equal(gzip.Configuration.DiffIds, zstd.Configuration.DiffIds);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(zstd));
    }

    [Fact]
    public async Task A_skopeo_docker_archive_resolves_by_tag_or_as_its_only_image()
    {
        var oci = await ResolveAsync($"oci-layout:{fixture.Layout}:v1");
        var byTag = await ResolveAsync($"docker-archive:{fixture.Archive}:cloister/sample:v1");
        var only = await ResolveAsync($"docker-archive:{fixture.Archive}");

        ImageAssert.IsSampleConfig(byTag.Configuration);
        Assert.Null(byTag.ManifestDigest);
        Assert.Equal(oci.Config.Digest, byTag.Config.Digest);
        Assert.Equal(oci.Configuration.DiffIds, byTag.Layers.Select(l => l.Descriptor.Digest));
        Assert.All(byTag.Layers, l => Assert.Equal(LayerCompression.None, l.Compression));
        Assert.Equal(byTag.Config.Digest, only.Config.Digest);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(byTag));

        var missing = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"docker-archive:{fixture.Archive}:cloister/other:v1"));
        Assert.Equal(ImageSourceError.NotFound, missing.Error);
        Assert.Contains("cloister/sample:v1", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_index_in_a_layout_yields_the_requested_platform()
    {
        var amd64 = await ResolveAsync($"oci-layout:{fixture.Layout}:multi");
        var arm64 = await ResolveAsync($"oci-layout:{fixture.Layout}:multi", ImagePlatform.Parse("linux/arm64"));

        Assert.Equal(IndexEntry(fixture.Layout, "multi-amd64")["digest"]!.GetValue<string>(), amd64.ManifestDigest);
        Assert.Equal(IndexEntry(fixture.Layout, "multi-arm64")["digest"]!.GetValue<string>(), arm64.ManifestDigest);
        Assert.Equal(ImagePlatform.LinuxArm64, arm64.Configuration.Platform);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(arm64), "arm64 image");

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{fixture.Layout}:multi", ImagePlatform.Parse("linux/s390x")));
        Assert.Equal(ImageSourceError.PlatformNotFound, ex.Error);
        Assert.Contains("linux/s390x", ex.Message, StringComparison.Ordinal);
        Assert.Contains("linux/amd64, linux/arm64/v8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_platform_image_for_another_architecture_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{fixture.Layout}:v1", ImagePlatform.LinuxArm64));

        Assert.Equal(ImageSourceError.PlatformNotFound, ex.Error);
        Assert.Contains("single-platform image for linux/amd64, not linux/arm64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_tags_layouts_and_archives_are_not_found()
    {
        var tag = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{fixture.Layout}:v9"));
        Assert.Equal(ImageSourceError.NotFound, tag.Error);
        Assert.Contains("no tag 'v9'", tag.Message, StringComparison.Ordinal);
        Assert.Contains("v1", tag.Message, StringComparison.Ordinal);

        var layout = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{fixture.WorkDirectory}/absent:v1"));
        Assert.Equal(ImageSourceError.NotFound, layout.Error);
        Assert.Contains("oci-layout", layout.Message, StringComparison.Ordinal);

        var archive = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"docker-archive:{fixture.WorkDirectory}/absent.tar"));
        Assert.Equal(ImageSourceError.NotFound, archive.Error);
    }

    [Theory]
    [InlineData("oci-layout")]
    [InlineData("index.json")]
    public async Task A_layout_file_linked_to_an_endless_device_is_malformed_at_its_limit(string file)
    {
        var layout = Directory.CreateDirectory(Path.Combine(fixture.WorkDirectory, $"endless-{file}")).FullName;
        File.WriteAllText(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllText(Path.Combine(layout, "index.json"), """{"schemaVersion":2,"manifests":[]}""");
        File.Delete(Path.Combine(layout, file));
        File.CreateSymbolicLink(Path.Combine(layout, file), "/dev/zero");

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{layout}:v1"));

        Assert.Equal(ImageSourceError.Malformed, ex.Error);
        Assert.EndsWith($"{Path.Combine(layout, file)}: larger than the 4 MiB limit for it", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupted_layer_blob_fails_the_end_of_its_stream_and_a_corrupted_config_fails_resolution()
    {
        var layout = CopyLayout();
        var image = await ResolveAsync($"oci-layout:{layout}:v1");
        FlipByte(TestImages.BlobPath(layout, image.Layers[1].Descriptor.Digest));

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => LayerContents.ReadAsync(image.Layers[1]));
        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains(image.Layers[1].Descriptor.Digest, ex.Message, StringComparison.Ordinal);

        FlipByte(TestImages.BlobPath(layout, image.Config.Digest));
        var config = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{layout}:v1"));
        Assert.Equal(ImageSourceError.DigestMismatch, config.Error);
        Assert.Contains($"config {image.Config.Digest}", config.Message, StringComparison.Ordinal);
        Assert.Contains("content hashes to sha256:", config.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Foreign_layers_are_refused_by_media_type()
    {
        var layout = CopyLayout();
        var entry = IndexEntry(layout, "v1");
        var manifest = JsonNode.Parse(File.ReadAllText(TestImages.BlobPath(layout, entry["digest"]!.GetValue<string>())))!;
        manifest["layers"]![0]!["mediaType"] = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
        var bytes = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var digest = BlobDigest.Compute(bytes).ToString();
        File.WriteAllBytes(TestImages.BlobPath(layout, digest), bytes);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(layout, "index.json")))!;
        index["manifests"]!.AsArray().Add(new JsonObject
        {
            ["mediaType"] = ImageMediaTypes.OciManifest,
            ["digest"] = digest,
            ["size"] = bytes.Length,
            ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = "foreign" },
        });
        File.WriteAllText(Path.Combine(layout, "index.json"), index.ToJsonString());

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"oci-layout:{layout}:foreign"));

        Assert.Equal(ImageSourceError.UnsupportedMediaType, ex.Error);
        Assert.Contains("foreign (non-distributable)", ex.Message, StringComparison.Ordinal);
    }

    private static JsonNode IndexEntry(string layout, string tag) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(layout, "index.json")))!["manifests"]!.AsArray()
            .Single(e => (string?)e!["annotations"]?["org.opencontainers.image.ref.name"] == tag)!;

    private static void FlipByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    private string CopyLayout()
    {
        var copy = Path.Combine(fixture.WorkDirectory, "copy-" + Guid.NewGuid().ToString("N"));
        ExternalTool.Run("cp", "coreutils", "-a", fixture.Layout, copy);
        return copy;
    }
}

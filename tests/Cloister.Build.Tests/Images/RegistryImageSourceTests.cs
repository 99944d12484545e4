using System.Text;
using System.Text.Json.Nodes;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>Pulls from a real docker-registry, directly or through a loopback proxy that adds auth, redirects or faults.</summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryImageSourceTests(RegistryFixture fixture) : IDisposable
{
    private readonly ImageSourceScope _sources = new();

    public void Dispose() => _sources.Dispose();

    private Task<ContainerImage> ResolveAsync(string reference, RegistryOptions options, ImagePlatform? platform = null) =>
        _sources.ResolveAsync(reference, options, platform);

    [Fact]
    public async Task The_same_image_through_all_three_sources_has_the_same_config_and_layers()
    {
        var fromRegistry = await ResolveAsync($"{fixture.Address}/cloister/sample:v1", fixture.NewOptions());
        var fromLayout = await ResolveAsync($"oci-layout:{fixture.Layout}:v1", fixture.NewOptions());
        var fromArchive = await ResolveAsync($"docker-archive:{fixture.Archive}", fixture.NewOptions());

        foreach (var image in new[] { fromRegistry, fromLayout, fromArchive })
        {
            ImageAssert.IsSampleConfig(image.Configuration);
            ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(image));
            Assert.Equal(fromLayout.Configuration.DiffIds, image.Configuration.DiffIds);
            Assert.Equal(fromLayout.Config.Digest, image.Config.Digest);
        }

        // skopeo pushes the umoci manifest byte for byte, so the registry serves the very digest in index.json.
        Assert.Equal(fromLayout.ManifestDigest, fromRegistry.ManifestDigest);
        Assert.Equal(fromLayout.Layers.Select(l => l.Descriptor.Digest), fromRegistry.Layers.Select(l => l.Descriptor.Digest));
        Assert.Equal(
            await LayerContents.ReadAllAsync(fromLayout),
            await LayerContents.ReadAllAsync(fromRegistry));
    }

    [Fact]
    public async Task A_docker_schema2_manifest_and_a_digest_pinned_reference_resolve()
    {
        var docker = await ResolveAsync($"{fixture.Address}/cloister/sample-docker:v1", fixture.NewOptions());
        var pinned = await ResolveAsync($"{fixture.Address}/cloister/sample-docker@{docker.ManifestDigest}", fixture.NewOptions());

        Assert.Equal(ImageMediaTypes.DockerConfig, docker.Config.MediaType);
        Assert.All(docker.Layers, l => Assert.Equal(ImageMediaTypes.DockerLayerGzip, l.Descriptor.MediaType));
        ImageAssert.IsSampleConfig(docker.Configuration);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(docker));
        Assert.Equal(docker.ManifestDigest, pinned.ManifestDigest);
        Assert.Equal(docker.Configuration.DiffIds, pinned.Configuration.DiffIds);
    }

    [Theory]
    [InlineData("cloister/multi", ImageMediaTypes.OciIndex, ImageMediaTypes.OciLayerGzip)]
    [InlineData("cloister/multi-docker", ImageMediaTypes.DockerManifestList, ImageMediaTypes.DockerLayerGzip)]
    public async Task An_index_with_two_platforms_yields_the_requested_one_or_platform_not_found(string name, string listType, string layerType)
    {
        var reference = $"{fixture.Address}/{name}:latest";
        using (var http = new HttpClient())
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"http://{fixture.Address}/v2/{name}/manifests/latest"))
        {
            request.Headers.Accept.ParseAdd(ImageMediaTypes.OciIndex);
            request.Headers.Accept.ParseAdd(ImageMediaTypes.DockerManifestList);
            using var response = await http.SendAsync(request);
            Assert.Equal(listType, response.Content.Headers.ContentType?.MediaType);
        }

        var amd64 = await ResolveAsync(reference, fixture.NewOptions());
        var arm64 = await ResolveAsync(reference, fixture.NewOptions(), ImagePlatform.Parse("linux/arm64/v8"));

        Assert.Equal(new ImagePlatform("linux", "amd64"), amd64.Configuration.Platform);
        Assert.Equal(ImagePlatform.LinuxArm64, arm64.Configuration.Platform);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(amd64), "amd64 image");
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(arm64), "arm64 image");
        Assert.All(arm64.Layers, l => Assert.Equal(layerType, l.Descriptor.MediaType));

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, fixture.NewOptions(), ImagePlatform.Parse("linux/arm/v7")));
        Assert.Equal(ImageSourceError.PlatformNotFound, ex.Error);
        Assert.Contains($"{reference} has no image for linux/arm/v7; it offers linux/amd64, linux/arm64/v8", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cloister/sample:v9", "manifest v9 of")]
    [InlineData("cloister/absent:v1", "manifest v1 of")]
    public async Task A_missing_tag_or_repository_is_not_found(string name, string what)
    {
        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"{fixture.Address}/{name}", fixture.NewOptions()));

        Assert.Equal(ImageSourceError.NotFound, ex.Error);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MANIFEST_UNKNOWN", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_corrupted_blob_in_registry_storage_is_a_digest_mismatch_and_never_cached()
    {
        var layout = Path.Combine(fixture.WorkDirectory, "corrupt-" + Guid.NewGuid().ToString("N"));
        TestImages.BuildSample(layout, "v1", marker: "corrupt " + Guid.NewGuid());
        RegistryFixture.PushTo(fixture.Address, layout, "v1", "cloister/corrupt:v1");
        var options = fixture.NewOptions();
        var image = await ResolveAsync($"{fixture.Address}/cloister/corrupt:v1", options);
        var layer = image.Layers[0];
        var stored = fixture.Registry.BlobDataPath(layer.Descriptor.Digest);
        var bytes = await File.ReadAllBytesAsync(stored);
        bytes[bytes.Length / 3] ^= 0x40;
        await File.WriteAllBytesAsync(stored, bytes);

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => layer.OpenAsync());

        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains($"blob {layer.Descriptor.Digest} of {fixture.Address}/cloister/corrupt:v1", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"content hashes to {BlobDigest.Compute(bytes)}, not {layer.Descriptor.Digest}", ex.Message, StringComparison.Ordinal);
        var cached = Path.Combine(options.CacheDirectory, "blobs", "sha256");
        Assert.False(File.Exists(Path.Combine(cached, layer.Descriptor.Digest["sha256:".Length..])));
        Assert.Empty(Directory.GetFiles(cached, "*.partial"));
    }

    [Fact]
    public async Task A_proxy_that_flips_a_bit_fails_resolution_with_a_digest_mismatch()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        proxy.CorruptBlobs = true;

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"{proxy.Address}/cloister/sample:v1", fixture.NewOptions()));

        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains("blob sha256:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("content hashes to", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_resolve_reads_every_blob_from_the_cache()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        var options = fixture.NewOptions();
        var reference = $"{proxy.Address}/cloister/multi:latest";
        var first = await ResolveAsync(reference, options);
        var firstLayers = await LayerContents.ReadAllAsync(first);
        Assert.Equal(3, proxy.CountRequests("/blobs/"));
        Assert.Equal(2, proxy.CountRequests("/manifests/"));
        Assert.All(
            first.Layers.Select(l => l.Descriptor.Digest).Append(first.Config.Digest).Append(first.ManifestDigest!),
            digest => Assert.True(File.Exists(Path.Combine(options.CacheDirectory, "blobs", "sha256", digest["sha256:".Length..]))));
        proxy.ClearRequests();

        var second = await ResolveAsync(reference, options);
        var secondLayers = await LayerContents.ReadAllAsync(second);

        Assert.Equal(0, proxy.CountRequests("/blobs/"));
        Assert.Equal(["GET /v2/cloister/multi/manifests/latest auth="], proxy.Requests);
        Assert.Equal(firstLayers, secondLayers);
        Assert.Equal(first.ManifestDigest, second.ManifestDigest);
    }

    [Fact]
    public async Task Anonymous_bearer_tokens_are_fetched_from_the_challenge_realm_and_not_sent_on_redirects()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        proxy.RequireToken = true;
        proxy.RedirectBlobsTo = $"http://localhost:{proxy.Address.Split(':')[1]}";

        var image = await ResolveAsync($"{proxy.Address}/cloister/sample:v1", fixture.NewOptions());
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(image));

        Assert.Contains(proxy.Requests, r => r.StartsWith("GET /token?service=cloister-test-registry&scope=repository%3Acloister%2Fsample%3Apull auth=", StringComparison.Ordinal));
        Assert.Contains("GET /v2/cloister/sample/manifests/v1 auth=Bearer", proxy.Requests);
        Assert.Equal(3, proxy.Requests.Count(r => r.StartsWith("GET /v2/cloister/sample/blobs/", StringComparison.Ordinal) && r.EndsWith("auth=Bearer", StringComparison.Ordinal)));
        var redirected = proxy.Requests.Where(r => r.StartsWith("GET /redirected/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, redirected.Length);
        Assert.All(redirected, r => Assert.EndsWith("?signature=presigned auth=", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_tokens_are_issued_for_docker_config_credentials_and_refused_without_or_with_wrong_ones()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        proxy.RequireToken = true;
        proxy.TokenCredential = ("alice", "wonderland");
        var reference = $"{proxy.Address}/cloister/sample:v1";

        var image = await ResolveAsync(reference, WithDockerConfig(proxy.Address, "alice", "wonderland"));
        Assert.Equal(2, image.Layers.Count);
        Assert.Contains(proxy.Requests, r => r.StartsWith("GET /token?", StringComparison.Ordinal) && r.EndsWith("auth=Basic", StringComparison.Ordinal));

        var wrong = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, WithDockerConfig(proxy.Address, "alice", "queen")));
        Assert.Equal(ImageSourceError.Unauthorized, wrong.Error);
        Assert.Contains("for user 'alice'", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("bad credentials", wrong.Message, StringComparison.Ordinal);

        var none = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, fixture.NewOptions()));
        Assert.Equal(ImageSourceError.Unauthorized, none.Error);
        Assert.Contains("no credentials configured", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_auth_against_an_htpasswd_registry_uses_docker_config_credentials()
    {
        var line = ExternalTool.Run("htpasswd", "apache2-utils", "-Bbn", "bob", "builder").Trim();
        using var registry = await RegistryServer.StartAsync(line);
        ExternalTool.Skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "bob:builder", $"oci:{fixture.Layout}:v1", $"docker://{registry.Address}/private/app:v1");
        var reference = $"{registry.Address}/private/app:v1";

        var image = await ResolveAsync(reference, WithDockerConfig(registry.Address, "bob", "builder"));
        ImageAssert.IsSampleConfig(image.Configuration);
        ImageAssert.HasSampleLayers(await LayerContents.ReadAllAsync(image));

        var none = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, fixture.NewOptions()));
        Assert.Equal(ImageSourceError.Unauthorized, none.Error);
        Assert.Contains("requires credentials (Basic)", none.Message, StringComparison.Ordinal);

        var wrong = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, WithDockerConfig(registry.Address, "bob", "wrecker")));
        Assert.Equal(ImageSourceError.Unauthorized, wrong.Error);
        Assert.Contains("HTTP 401", wrong.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redirect")]
    [InlineData("realm")]
    public async Task Plain_http_to_a_host_that_is_not_loopback_is_refused_before_any_request(string where)
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        if (where == "redirect")
        {
            proxy.RedirectBlobsTo = "http://blobs.example.invalid";
        }
        else
        {
            proxy.RequireToken = true;
            proxy.Realm = "http://auth.example.invalid/token";
        }

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync($"{proxy.Address}/cloister/sample:v1", fixture.NewOptions()));

        Assert.Equal(ImageSourceError.InsecureTransport, ex.Error);
        Assert.Contains($"refusing http://{(where == "redirect" ? "blobs" : "auth")}.example.invalid", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--insecure-registry", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_unavailable_answers_are_retried_until_the_attempts_run_out()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        var reference = $"{proxy.Address}/cloister/sample:v1";
        proxy.FailNext = 1;

        var image = await ResolveAsync(reference, fixture.NewOptions());

        Assert.Equal(2, image.Layers.Count);
        Assert.Equal(2, proxy.CountRequests("/manifests/v1"));

        proxy.FailNext = 2;
        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, fixture.NewOptions()));
        Assert.Equal(ImageSourceError.Unavailable, ex.Error);
        Assert.Contains("HTTP 503", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_that_never_answers_times_out_and_a_caller_can_cancel()
    {
        await using var proxy = await LoopbackProxy.StartAsync(fixture.Address);
        proxy.Stall = true;
        var reference = $"{proxy.Address}/cloister/sample:v1";
        var options = new RegistryOptions(fixture.NewOptions().CacheDirectory) { RequestTimeout = TimeSpan.FromMilliseconds(300), MaxAttempts = 1 };

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => ResolveAsync(reference, options));
        Assert.Equal(ImageSourceError.Unavailable, ex.Error);
        Assert.Contains($"no answer from http://{proxy.Address} within 0.3 s", ex.Message, StringComparison.Ordinal);

        using var source = new RegistryImageSource(ImageReference.Parse(reference), fixture.NewOptions());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.ResolveAsync(cancellationToken: cancel.Token));
    }

    [Theory]
    [InlineData("registry.example.com/app", null, "https://registry.example.com/v2/app/")]
    [InlineData("registry.example.com:5000/app", "registry.example.com:5000", "http://registry.example.com:5000/v2/app/")]
    [InlineData("registry.example.com/app", "registry.example.com", "http://registry.example.com/v2/app/")]
    [InlineData("127.0.0.1:5000/app", null, "http://127.0.0.1:5000/v2/app/")]
    [InlineData("localhost:5000/app", null, "http://localhost:5000/v2/app/")]
    [InlineData("[::1]:5000/app", null, "http://[::1]:5000/v2/app/")]
    [InlineData("alpine", null, "https://registry-1.docker.io/v2/library/alpine/")]
    public void Only_loopback_and_declared_insecure_registries_are_spoken_to_over_plain_http(string reference, string? insecure, string expected)
    {
        var options = new RegistryOptions(fixture.WorkDirectory) { InsecureRegistries = insecure is null ? [] : [insecure] };
        using var source = new RegistryImageSource(ImageReference.Parse(reference), options);

        Assert.Equal(new Uri(expected), source.BaseAddress);
    }

    private RegistryOptions WithDockerConfig(string registry, string user, string password)
    {
        var path = Path.Combine(fixture.WorkDirectory, $"docker-config-{Guid.NewGuid():N}.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        var config = new JsonObject
        {
            ["auths"] = new JsonObject
            {
                [registry] = new JsonObject { ["auth"] = auth },
                ["other.example.com"] = new JsonObject(),
            },
        };
        File.WriteAllText(path, config.ToJsonString());
        return new RegistryOptions(fixture.NewOptions().CacheDirectory) { Credentials = DockerCredentialStore.Load(path), MaxAttempts = 2 };
    }
}

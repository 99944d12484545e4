using Cloister.Build.Images.Registry;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// Images made by other people's tools, shared by the image tests: umoci-built OCI layouts (a two-layer sample and a
/// two-platform index), the same sample as a skopeo docker-archive and re-compressed with zstd, and a real
/// docker-registry holding them, pushed by skopeo (OCI manifests, Docker schema 2, and the index).
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private RegistryServer? _registry;

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("cloister-images-").FullName;

    /// <summary>The umoci layout holding the sample under tag <c>v1</c> and the index under <c>multi</c>.</summary>
    public string Layout => Path.Combine(WorkDirectory, "layout");

    /// <summary>The sample as <c>skopeo copy … docker-archive:</c> writes it, tagged <c>cloister/sample:v1</c>.</summary>
    public string Archive => Path.Combine(WorkDirectory, "sample.tar");

    /// <summary>The sample with its layers re-compressed with zstd by skopeo, tag <c>v1</c>.</summary>
    public string ZstdLayout => Path.Combine(WorkDirectory, "zstd");

    internal RegistryServer Registry => _registry ?? throw new InvalidOperationException("fixture not started");

    /// <summary>The registry address, <c>127.0.0.1:PORT</c>.</summary>
    public string Address => Registry.Address;

    public async Task InitializeAsync()
    {
        TestImages.BuildSample(Layout, "v1");
        TestImages.BuildMultiPlatform(Layout, "multi");
        ExternalTool.Skopeo("copy", $"oci:{Layout}:v1", $"docker-archive:{Archive}:cloister/sample:v1");
        ExternalTool.Skopeo("copy", "--dest-compress-format", "zstd", $"oci:{Layout}:v1", $"oci:{ZstdLayout}:v1");

        _registry = await RegistryServer.StartAsync();
        Push("v1", "cloister/sample:v1");
        Push("v1", "cloister/sample-docker:v1", "--format", "v2s2");
        Push("multi", "cloister/multi:latest", "--all");
        Push("multi", "cloister/multi-docker:latest", "--all", "--format", "v2s2");
    }

    /// <summary>Pushes a tag of <see cref="Layout"/> to the registry with skopeo.</summary>
    public void Push(string tag, string destination, params string[] options) => PushTo(Address, Layout, tag, destination, options);

    public static void PushTo(string registry, string layout, string tag, string destination, params string[] options) =>
        ExternalTool.Skopeo(["copy", "--dest-tls-verify=false", .. options, $"oci:{layout}:{tag}", $"docker://{registry}/{destination}"]);

    /// <summary>Options with a fresh, empty cache directory.</summary>
    public RegistryOptions NewOptions() => new(Path.Combine(WorkDirectory, "cache-" + Guid.NewGuid().ToString("N"))) { MaxAttempts = 2 };

    public Task DisposeAsync()
    {
        _registry?.Dispose();
        Directory.Delete(WorkDirectory, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryFixtureGroup : ICollectionFixture<RegistryFixture>
{
    public const string Name = "registry";
}

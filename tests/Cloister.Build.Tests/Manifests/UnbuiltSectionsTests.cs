using System.Text.Json;
using Cloister.Build.Enclaves;
using Cloister.Build.Images.Registry;
using Cloister.Build.Manifests;
using Cloister.Testing;

namespace Cloister.Build.Tests.Manifests;

/// <summary>
/// Sections that are validated but not built yet are refused by the build at their key, so nobody gets an enclave
/// without what they configured; validation alone still accepts them.
/// </summary>
public sealed class UnbuiltSectionsTests
{
    private const string Head = "name: app\nimage: oci-layout:./absent:v1\n";
    private const string Provisioning = "provisioning:\n  url: https://p.example\n  pinned_sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  token_audience: t\n";
    private const string NotBuilt = "not built yet in this version of Cloister; ";

    [Theory]
    [InlineData("resources: {cpus: 2}\nhealth:\n  path: /healthz\n  port: 8080\n", "health", 4, 1, "remove the section")]
    public void A_section_not_built_yet_is_refused_at_its_key(string section, string key, int line, int column, string remedy)
    {
        var yaml = Head + section;

        var error = Assert.Single(Assert.Throws<ManifestException>(() => EnclaveManifestReader.ParseBuildable(yaml)).Errors);

        Assert.Equal((key, line, column), (error.Path, error.Line, error.Column));
        Assert.Equal($"enclave.yaml:{line}:{column}: {key}: {NotBuilt}{remedy} (see docs/build.md, 'Sections not built yet')", error.ToString());
        Assert.NotNull(EnclaveManifestReader.Parse(yaml));
    }

    [Fact]
    public void The_crypto_api_builds_with_its_provisioner()
    {
        var manifest = EnclaveManifestReader.ParseBuildable(Head + "api:\n  attestation: true\n  crypto: true\n" + Provisioning);

        Assert.True(manifest.Api.Crypto);
        Assert.Empty(UnbuiltSections.In(manifest));
    }

    [Fact]
    public void The_kms_proxy_builds()
    {
        var manifest = EnclaveManifestReader.ParseBuildable(Head + "kms_proxy: {region: eu-west-1, allow: [Decrypt], keys: [alias/a]}\n");

        Assert.Equal(["Decrypt"], manifest.KmsProxy!.Allow);
        Assert.Empty(UnbuiltSections.In(manifest));
    }

    [Fact]
    public void Provisioning_builds()
    {
        var manifest = EnclaveManifestReader.ParseBuildable(Head + Provisioning);

        Assert.Equal("t", manifest.Provisioning!.TokenAudience);
        Assert.Empty(UnbuiltSections.In(manifest));
    }

    [Fact]
    public void The_crypto_api_switched_off_builds()
    {
        var manifest = EnclaveManifestReader.ParseBuildable(Head + "api: {attestation: true, crypto: false}\n");

        Assert.False(manifest.Api.Crypto);
        Assert.Empty(UnbuiltSections.In(manifest));
    }

    [Theory]
    [InlineData("samples/hello/enclave.yaml")]
    public void The_sample_manifests_build(string path)
    {
        var manifest = EnclaveManifestReader.ParseBuildable(File.ReadAllText(Path.Combine(RepositoryPaths.Root, path)), path);

        Assert.Empty(UnbuiltSections.In(manifest));
    }

    [Fact]
    public void The_starter_manifest_from_init_builds() =>
        Assert.Equal("hello", EnclaveManifestReader.ParseBuildable(EnclaveManifestTemplate.Render("hello", "oci-layout:./image:latest")).Name);

    [Fact]
    public async Task The_builder_refuses_them_before_it_touches_the_image()
    {
        var manifest = EnclaveManifestReader.Parse(Head + Provisioning + "health: {path: /h, port: 80}\n");
        var scratch = Directory.CreateTempSubdirectory("cloister-unbuilt-").FullName;
        try
        {
            var options = new EnclaveBuildOptions
            {
                OutputDirectory = Path.Combine(scratch, "out"),
                TemporaryDirectory = scratch,
                Registry = new RegistryOptions(Path.Combine(scratch, "cache")),
                BaseDirectory = scratch,
                Runtime = EnclaveRuntime.None,
                BuildTime = DateTimeOffset.UnixEpoch,
            };

            // The image does not exist: without the check this would fail on the image instead.
            var ex = await Assert.ThrowsAsync<EnclaveBuildException>(() => EnclaveImageBuilder.BuildAsync(manifest, options));

            Assert.Equal($"health: {NotBuilt}remove the section (see docs/build.md, 'Sections not built yet')", ex.Message);
            Assert.False(Directory.Exists(options.OutputDirectory));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void The_schema_says_which_sections_are_not_built_yet()
    {
        var everything = EnclaveManifestReader.Parse(Head + "api: {crypto: true}\n" + Provisioning + "kms_proxy: {region: eu-west-1, allow: [Decrypt], keys: [alias/a]}\nhealth: {path: /h, port: 80}\n");
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "enclave.schema.json")));

        var keys = UnbuiltSections.In(everything).Select(section => section.Key).ToList();

        Assert.Equal(["health"], keys);
        foreach (var key in keys)
        {
            var property = key.Split('.').Aggregate(schema.RootElement, (node, name) => node.GetProperty("properties").GetProperty(name));
            Assert.Contains("Not built yet", property.GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Not built yet", schema.RootElement.GetProperty("properties").GetProperty("kms_proxy").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Not built yet", schema.RootElement.GetProperty("properties").GetProperty("provisioning").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Not built yet", schema.RootElement.GetProperty("properties").GetProperty("api").GetProperty("properties").GetProperty("crypto").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}

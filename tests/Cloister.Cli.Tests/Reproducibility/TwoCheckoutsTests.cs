using System.Text.Json;
using Cloister.Build.RuntimeBundles;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Reproducibility;

/// <summary>
/// PCRs anyone can reproduce (issue 12): the CLI of this checkout and the CLI of another checkout of the same sources,
/// at another path and built with <c>CI</c> the other way, make the same runtime artifact byte for byte and the same
/// PCRs for the same image with the default runtime.
/// </summary>
[Collection(OtherCheckoutDefinition.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TwoCheckoutsTests(OtherCheckoutFixture other) : IDisposable
{
    private static readonly Dictionary<string, string> s_environment = new() { ["SOURCE_DATE_EPOCH"] = "0", ["NITRO_CLI_BLOBS"] = "" };
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-two-checkouts-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Both_checkouts_produce_the_same_runtime_artifact_byte_for_byte()
    {
        var ours = Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName);

        Assert.NotEqual(Path.GetFullPath(RepositoryPaths.Root), Path.GetFullPath(other.Root));
        using var ourBundle = RuntimeBundle.Read(ours);
        using var otherBundle = RuntimeBundle.Read(other.Runtime);
        Assert.Equal(ourBundle.Digest, otherBundle.Digest);
        Assert.True(File.ReadAllBytes(ours).AsSpan().SequenceEqual(File.ReadAllBytes(other.Runtime)));
    }

    [Fact]
    public void The_same_image_and_manifest_measure_the_same_with_either_checkouts_cli()
    {
        TestImages.BuildSample(Path.Combine(_directory, "image"), "v1");
        var manifest = Path.Combine(_directory, "enclave.yaml");
        File.WriteAllText(manifest, "name: hello\nimage: oci-layout:./image:v1\n");

        var ours = CliRunner.Run(s_environment, "build", "-f", manifest, "-o", Path.Combine(_directory, "ours"));
        var theirs = ExternalTool.Capture("dotnet", [other.Cli, "build", "-f", manifest, "-o", Path.Combine(_directory, "theirs")], environment: s_environment);

        Assert.True(ours.ExitCode == 0, ours.ToString());
        Assert.True(theirs.ExitCode == 0, theirs.ToString());
        using var a = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(theirs.Stdout);
        foreach (var pcr in (string[])["PCR0", "PCR1", "PCR2"])
        {
            Assert.Equal(a.RootElement.GetProperty("Measurements").GetProperty(pcr).GetString(), b.RootElement.GetProperty("Measurements").GetProperty(pcr).GetString());
        }

        Assert.Equal(a.RootElement.GetProperty("CloisterRuntime").GetProperty("Digest").GetString(), b.RootElement.GetProperty("CloisterRuntime").GetProperty("Digest").GetString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(_directory, "ours", "hello.eif")), File.ReadAllBytes(Path.Combine(_directory, "theirs", "hello.eif")));
    }
}

using Cloister.Testing;

namespace Cloister.Cli.Tests.Reproducibility;

/// <summary>
/// This checkout's working tree copied to another, deeper path and its CLI built there with <c>CI</c> the other way
/// round from this test run's: what a second engineer, or CI, would build from the same sources. Built once per run.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OtherCheckoutFixture : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-other-checkout-").FullName;

    public OtherCheckoutFixture()
    {
        Root = Path.Combine(_directory, "a", "longer", "path", "to", "cloister");
        var files = ExternalTool.Capture("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], workingDirectory: RepositoryPaths.Root);
        if (files.ExitCode != 0)
        {
            throw new InvalidOperationException($"git ls-files failed in {RepositoryPaths.Root}:\n{files}");
        }

        foreach (var file in files.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var source = Path.Combine(RepositoryPaths.Root, file);
            if (File.Exists(source) && !Directory.Exists(source))
            {
                var target = Path.Combine(Root, file);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(source, target);
                File.SetUnixFileMode(target, File.GetUnixFileMode(source));
            }
        }

        OtherCi = Environment.GetEnvironmentVariable("CI") == "true" ? "" : "true";
        var build = ExternalTool.Capture(
            "dotnet",
            ["build", Path.Combine(Root, "src", "Cloister.Cli"), "-c", "Release", "--nologo", "-nodeReuse:false"],
            workingDirectory: Root,
            environment: new Dictionary<string, string> { ["CI"] = OtherCi },
            timeout: ExternalTool.PublishTimeout * 2);
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"the CLI build in {Root} failed:\n{build}");
        }

        Cli = Path.Combine(Root, "src", "Cloister.Cli", "bin", "Release", "net10.0", "cloister.dll");
    }

    /// <summary>The other checkout's root.</summary>
    public string Root { get; }

    /// <summary>What <c>CI</c> was for the other build: <c>true</c>, or empty when this run has it.</summary>
    public string OtherCi { get; }

    /// <summary>The CLI built there.</summary>
    public string Cli { get; }

    /// <summary>The runtime artifact that CLI carries.</summary>
    public string Runtime => Path.Combine(Path.GetDirectoryName(Cli)!, "runtime", "cloister-runtime.tar");

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class OtherCheckoutDefinition : ICollectionFixture<OtherCheckoutFixture>
{
    public const string Name = "another checkout";
}

using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary>
/// <c>cloister build</c> on hostile or unusable manifests: each is one line on stderr and exit 1, decided before the
/// image is looked at (none exists here), never a crash, a stack trace or gigabytes read.
/// </summary>
public sealed class BuildManifestInputTests : IDisposable
{
    private static readonly Dictionary<string, string> s_noBlobs = new() { ["NITRO_CLI_BLOBS"] = "" };
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-cli-manifest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Manifest => Path.Combine(_directory, "enclave.yaml");

    private ProcessResult Build() => CliRunner.Run(s_noBlobs, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"), "--runtime", "none");

    private static string RefusedInOneLine(ProcessResult result)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.DoesNotContain("Stack overflow", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        return Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("[", "")]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    [InlineData("- ", "")]
    public void Deep_nesting_is_one_line_naming_the_limit(string open, string close)
    {
        File.WriteAllText(Manifest, "x:\n  " + string.Concat(Enumerable.Repeat(open, 30_000)) + string.Concat(Enumerable.Repeat(close, 30_000)) + "\n");

        var line = RefusedInOneLine(Build());

        Assert.StartsWith("cloister: enclave.yaml:2:", line, StringComparison.Ordinal);
        Assert.EndsWith(": nested deeper than 32 levels, the limit for a manifest (see docs/limits.md)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Aliases_that_multiply_are_one_line_naming_the_limit()
    {
        var lines = new List<string> { "l0: &l0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++)
        {
            lines.Add($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]");
        }

        File.WriteAllText(Manifest, string.Join('\n', lines) + "\n? *l9\n: x\n");

        Assert.Contains("more than 100,000 nodes", RefusedInOneLine(Build()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_linked_to_dev_zero_stops_at_the_size_limit()
    {
        File.CreateSymbolicLink(Manifest, "/dev/zero");

        var line = RefusedInOneLine(Build());

        Assert.Equal($"cloister: the manifest {Manifest}: larger than the 1 MiB limit for it", line);
    }

    [Fact]
    public void A_manifest_that_is_not_UTF8_is_refused_at_the_bad_byte()
    {
        File.WriteAllBytes(Manifest, [.. "name: hello\nimage: oci-layout:./image:v1\nenv: {A: caf"u8, 0xE9, .. "}\n"u8]);

        var line = RefusedInOneLine(Build());

        Assert.Equal("cloister: enclave.yaml:3:13: not valid UTF-8 (byte 0xE9); save the manifest as UTF-8", line);
    }

    [Fact]
    public void A_section_not_built_yet_is_refused_at_its_key()
    {
        File.WriteAllText(
            Manifest,
            "name: hello\nimage: oci-layout:./image:v1\nhealth:\n  path: /healthz\n  port: 8080\n");

        var line = RefusedInOneLine(Build());

        Assert.Equal(
            "cloister: enclave.yaml:3:1: health: not built yet in this version of Cloister; remove the section (see docs/build.md, 'Sections not built yet')",
            line);
    }

    [Fact]
    public void A_manifest_with_many_problems_lists_each_on_its_line_up_to_twenty()
    {
        File.WriteAllText(Manifest, "name: hello\nimage: oci-layout:./image:v1\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"unknown{i}: x\n")));

        var result = Build();

        Assert.True(result.ExitCode == 1, result.ToString());
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.All(lines[..19], line => Assert.StartsWith("cloister: enclave.yaml:", line, StringComparison.Ordinal));
        Assert.Equal("cloister: … and 31 more problems in the manifest", lines[19]);
    }
}

using System.Text.Json;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary><c>cloister image pack</c> as a user runs it: the real CLI in a child process, packing the <c>dotnet</c> host of this machine.</summary>
public sealed class ImagePackCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("clipack-").FullName;

    private static string Executable => Environment.ProcessPath!;

    private string Layout => Path.Combine(_directory, "image");

    [Fact]
    public void Pack_writes_a_layout_skopeo_reads_and_prints_the_manifest_digest()
    {
        var result = CliRunner.Run(
            new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = "1700000000" },
            "image", "pack", "--executable", Executable, "--path", "/usr/local/bin/host", "--with-openssl",
            "--cmd", "/usr/local/bin/host", "--cmd=--info", "--env", "MODE=enclave", "--workdir", "/work", "--user", "1000",
            "--expose", "8080", "--output", $"oci-layout:{Layout}:v1");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(Layout, "index.json")));
        var entry = index.RootElement.GetProperty("manifests")[0];
        Assert.Equal(entry.GetProperty("digest").GetString(), result.Stdout.Trim());
        Assert.Equal("v1", entry.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString());
        Assert.Contains($"into oci-layout:{Layout}:v1", result.Stderr, StringComparison.Ordinal);

        using var config = JsonDocument.Parse(ExternalTool.Skopeo("inspect", "--config", $"oci:{Layout}:v1"));
        var root = config.RootElement;
        Assert.Equal("2023-11-14T22:13:20Z", root.GetProperty("created").GetString());
        var run = root.GetProperty("config");
        Assert.Equal("1000:1000", run.GetProperty("User").GetString());
        Assert.Equal("/work", run.GetProperty("WorkingDir").GetString());
        Assert.Equal(["/usr/local/bin/host", "--info"], run.GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["MODE=enclave"], run.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["8080/tcp"], run.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("--env", "NOVALUE", "'NOVALUE' is not NAME=value")]
    [InlineData("--user", "nobody", "--user: 'nobody': the UID 'nobody' is not a decimal number")]
    [InlineData("--add", "nocolon", "--add: 'nocolon' is not SRC:DEST")]
    [InlineData("--add", "/no/such/source:/x", "no such file")]
    [InlineData("--expose", "70000", "--expose: '70000'")]
    [InlineData("--path", "relative/host", "is not an absolute path in the image")]
    public void A_bad_option_is_a_usage_error_that_names_it(string option, string value, string expected)
    {
        var result = CliRunner.Run("image", "pack", "--executable", Executable, option, value, "--output", $"oci-layout:{Layout}");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Layout));
    }

    [Fact]
    public void A_missing_executable_is_a_usage_error()
    {
        var missing = Path.Combine(_directory, "missing");
        var result = CliRunner.Run("image", "pack", "--executable", missing, "--output", $"oci-layout:{Layout}");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(missing, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_ELF_executable_is_a_usage_error_that_says_so()
    {
        var script = Path.Combine(_directory, "run.sh");
        File.WriteAllText(script, "#!/bin/sh\n# a script is not what the packer can find libraries for\nexec echo hello\n");
        var result = CliRunner.Run("image", "pack", "--executable", script, "--output", $"oci-layout:{Layout}");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("not an ELF file", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("docker-archive:image.tar")]
    [InlineData("registry.example.com/app:v1")]
    public void An_output_that_is_not_an_OCI_layout_is_a_usage_error(string output)
    {
        var result = CliRunner.Run("image", "pack", "--executable", Executable, "--output", output);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("is not oci-layout:DIR[:TAG]", result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

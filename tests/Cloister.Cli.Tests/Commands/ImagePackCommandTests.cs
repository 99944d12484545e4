using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Cloister.Build.RuntimeBundles;
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

    [Fact]
    public void Pinned_libraries_come_from_the_carried_runtime_and_nothing_else()
    {
        // A NativeAOT executable like the apps this is for: the supervisor, out of the runtime.
        using var runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
        var app = Path.Combine(_directory, "app");
        using (var supervisor = runtime.Entries.Single(entry => entry.Path == "cloister/bin/cloister-enclave").OpenRead())
        using (var file = File.Create(app))
        {
            supervisor.CopyTo(file);
        }

        var result = CliRunner.Run("image", "pack", "--executable", app, "--with-openssl", "--pinned-libraries", "--output", $"oci-layout:{Layout}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"libraries from the runtime {runtime.Digest} (libc6 ", result.Stderr, StringComparison.Ordinal);
        var layer = ReadLayer();
        foreach (var library in (string[])["libc.so.6", "libm.so.6", "libssl.so.3", "libcrypto.so.3", "ld-linux-x86-64.so.2"])
        {
            using var pinned = runtime.Entries.Single(entry => entry.Path == "cloister/lib/" + library).OpenRead();
            using var expected = new MemoryStream();
            pinned.CopyTo(expected);
            Assert.Equal(expected.ToArray(), layer["lib/x86_64-linux-gnu/" + library]);
        }

        // A library the runtime does not pin is not looked for on this machine.
        var xz = CliRunner.Run("image", "pack", "--executable", ExternalTool.Require("xz", "xz-utils"), "--pinned-libraries", "--output", $"oci-layout:{Path.Combine(_directory, "xz")}");
        Assert.Equal(1, xz.ExitCode);
        Assert.Contains("\ncloister: --pinned-libraries: liblzma.so.5 is not among the runtime's pinned libraries (ld-linux-x86-64.so.2, libc.so.6, ", xz.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory, "xz")));
    }

    private Dictionary<string, byte[]> ReadLayer()
    {
        string Blob(string digest) => Path.Combine(Layout, "blobs", "sha256", digest["sha256:".Length..]);
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(Layout, "index.json")));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Blob(index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!)));
        using var gzip = new GZipStream(File.OpenRead(Blob(manifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!)), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var files = new Dictionary<string, byte[]>();
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is { } data)
            {
                using var copy = new MemoryStream();
                data.CopyTo(copy);
                files[entry.Name] = copy.ToArray();
            }
        }

        return files;
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

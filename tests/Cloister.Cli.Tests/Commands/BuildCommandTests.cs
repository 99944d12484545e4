using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Build.RuntimeBundles;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary><c>cloister build</c> end to end: the real CLI, a umoci-made image, the supervisor built with the CLI.</summary>
public sealed class BuildCommandTests : IDisposable
{
    private static readonly Dictionary<string, string> s_reproducible = new() { ["SOURCE_DATE_EPOCH"] = "1700000000", ["NITRO_CLI_BLOBS"] = "" };
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-cli-build-").FullName;

    public BuildCommandTests()
    {
        TestImages.BuildSample(Path.Combine(_directory, "image"), "v1");
        File.WriteAllText(Path.Combine(_directory, "enclave.yaml"), "name: hello\nimage: oci-layout:./image:v1\n");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Manifest => Path.Combine(_directory, "enclave.yaml");

    [Fact]
    public void Build_prints_the_measurements_it_writes_and_the_image_carries_the_supervisor()
    {
        var output = Path.Combine(_directory, "out");

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "--output", output);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(File.ReadAllText(Path.Combine(output, "measurements.json")), result.Stdout);
        Assert.Contains("SIMULATION-ONLY", result.Stderr, StringComparison.Ordinal);
        using var eif = EifReader.Open(Path.Combine(output, "hello.eif"));
        Assert.True(eif.Inspect().CrcMatches);
        using var ramdisk = eif.OpenSection(eif.Sections.Where(s => s.Type == EifSectionType.Ramdisk).ElementAt(1));
        using var reader = new CpioReader(ramdisk);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        Assert.Contains("rootfs/cloister/bin/cloister-enclave", names);
        Assert.Contains("rootfs/cloister/enclave.json", names);
        Assert.Contains("rootfs/etc/hello", names);
    }

    [Fact]
    public void Two_builds_on_different_days_measure_the_same()
    {
        var first = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "a"), "--runtime", "none");
        var second = CliRunner.Run(
            new Dictionary<string, string> { ["NITRO_CLI_BLOBS"] = "" }, "build", "-f", Manifest, "-o", Path.Combine(_directory, "b"), "--runtime", "none");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(first.Stdout, second.Stdout);
    }

    [Theory]
    [InlineData("nitro-cli-1.4", "Sha384 { ... }")]
    [InlineData("nitro-cli-1.5", "Sha512_48 { .. }")]
    public void Hash_algorithm_name_changes_only_the_hash_algorithm_text_printed_and_written(string release, string text)
    {
        var named = Path.Combine(_directory, "named");
        var unnamed = Path.Combine(_directory, "unnamed");

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", named, "--runtime", "none", "--hash-algorithm-name", release);
        var byDefault = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", unnamed, "--runtime", "none");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(byDefault.ExitCode == 0, byDefault.ToString());
        Assert.Equal(File.ReadAllText(Path.Combine(named, "measurements.json")), result.Stdout);
        Assert.StartsWith($"{{\n  \"Measurements\": {{\n    \"HashAlgorithm\": \"{text}\",\n", result.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha512_48 { .. }\",\n", byDefault.Stdout, StringComparison.Ordinal);
        Assert.Equal(byDefault.Stdout.Replace("Sha512_48 { .. }", text, StringComparison.Ordinal), result.Stdout);
        Assert.Equal(File.ReadAllBytes(Path.Combine(unnamed, "hello.eif")), File.ReadAllBytes(Path.Combine(named, "hello.eif")));
    }

    [Fact]
    public void A_bad_manifest_is_reported_with_its_line_and_column()
    {
        File.WriteAllText(Manifest, "name: hello\nimage: oci-layout:./image:v1\ningres: []\n");

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("enclave.yaml:3:1: ingres: unknown key 'ingres'; did you mean 'ingress'?", result.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Theory]
    [InlineData("image: oci-layout:./missing:v1", 1, "NotFound")]
    [InlineData("image: oci-layout:./image:nope", 1, "NotFound")]
    [InlineData("image: 127.0.0.1:1/nothing:v1", 1, "Unavailable")]
    public void Image_problems_are_reported_plainly(string imageLine, int exitCode, string reason)
    {
        File.WriteAllText(Manifest, $"name: hello\n{imageLine}\n");

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"));

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(reason, result.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public void An_image_with_nothing_to_run_is_refused_plainly_before_any_layer_is_read()
    {
        var layout = Path.Combine(_directory, "nocmd");
        ExternalTool.Umoci("init", "--layout", layout);
        ExternalTool.Umoci("new", "--image", layout + ":v1");
        File.WriteAllText(Manifest, "name: hello\nimage: oci-layout:./nocmd:v1\n");

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"), "--runtime", "none");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nothing to run", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("writing the ramdisks", result.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, CliRunner.Run("build", "-f", Path.Combine(_directory, "absent.yaml"), "-o", _directory).ExitCode);
        Assert.Equal(2, CliRunner.Run("build", "-f", Manifest).ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--platform", "linux").ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--runtime", "docker").ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--runtime-bundle", "/nonexistent").ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--runtime-digest", "sha384:00").ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--runtime", "none", "--runtime-bundle", CarriedRuntime).ExitCode);
        Assert.Equal(2, CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", _directory, "--hash-algorithm-name", "Sha384").ExitCode);
    }

    private static string CarriedRuntime => Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName);

    [Fact]
    public void Version_names_the_runtime_whose_digest_every_build_records()
    {
        var version = CliRunner.Run("version");
        var build = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"));

        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.True(build.ExitCode == 0, build.ToString());
        using var carried = RuntimeBundle.Read(CarriedRuntime);
        var digest = carried.Digest;
        Assert.StartsWith($"cloister {EifMetadata.CloisterVersion}\nruntime {digest} (cloister-runtime ", version.Stdout, StringComparison.Ordinal);
        Assert.Contains("libc6 ", version.Stdout, StringComparison.Ordinal);
        Assert.Contains("libssl3 ", version.Stdout, StringComparison.Ordinal);
        Assert.Contains($"\"Digest\": \"{digest}\"", build.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_runtime_bundle_is_used_as_given_and_a_pinned_digest_is_enforced()
    {
        var copy = Path.Combine(_directory, "runtime.tar");
        File.Copy(CarriedRuntime, copy);
        var carried = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "a"));
        var given = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "b"), "--runtime-bundle", copy);
        var pinned = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "c"), "--runtime-digest", "sha384:" + new string('0', 96));

        Assert.True(given.ExitCode == 0, given.ToString());
        Assert.Equal(carried.Stdout, given.Stdout);
        Assert.Equal(1, pinned.ExitCode);
        Assert.StartsWith("cloister: runtime bundle refused (DigestMismatch): ", pinned.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory, "c")));

        // A changed byte gives another runtime: a build with it names that runtime's digest, never the carried one's.
        var bytes = File.ReadAllBytes(copy);
        bytes[bytes.AsSpan().IndexOf("# Cloister supervisor"u8) + 2] = (byte)'c';
        File.WriteAllBytes(copy, bytes);
        var changed = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "d"), "--runtime-bundle", copy);
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Contains(RuntimeBundle.DigestOf(bytes), changed.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(carried.Stdout, changed.Stdout);
    }

    [Fact]
    public void A_file_that_is_not_a_runtime_bundle_is_refused_in_one_line()
    {
        var bogus = Path.Combine(_directory, "bogus.tar");
        File.WriteAllText(bogus, new string('x', 2048));

        var result = CliRunner.Run(s_reproducible, "build", "-f", Manifest, "-o", Path.Combine(_directory, "out"), "--runtime-bundle", bogus);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"cloister: runtime bundle refused (MalformedHeader): {bogus}: the header at byte offset 0 has a malformed name field\n", result.Stderr);
    }

    private static void AssertNoStackTrace(ProcessResult result) =>
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
}

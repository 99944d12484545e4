using Cloister.Testing;

namespace Cloister.RuntimeBundler.Tests;

/// <summary>The <c>fetch</c> verb as a build runs it: the real executable, its exit code and its one line on stderr.</summary>
public sealed class FetchCommandTests : IAsyncLifetime, IDisposable
{
    private const string Usage = "(usage: cloister-runtime-bundler fetch --lock FILE --set runtime|toolchain --root DIR [--cache DIR] | bundle --supervisor FILE --lock FILE --version V --out FILE [--cache DIR])";

    private readonly TempRunDirectory _directory = new();
    private LoopbackMirror _mirror = null!;

    private string LockFile => Path.Combine(_directory.Path, "debian-packages.lock");

    private string Root => Path.Combine(_directory.Path, "root");

    public async Task InitializeAsync() => _mirror = await LoopbackMirror.StartAsync();

    public async Task DisposeAsync() => await _mirror.DisposeAsync();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Fetches_verifies_and_extracts_one_set_of_the_lock()
    {
        var deb = TestDeb.Build(tar => tar.File("./lib/x86_64-linux-gnu/libc.so.6", "glibc"));
        var package = DebianPackageCacheTests.Pin(deb);
        _mirror.Put(package.Path, deb);
        WriteLock(package, package with { Set = "toolchain", Name = "gcc-12", Path = "debian/pool/main/g/gcc-12/absent.deb" });

        var result = Run("fetch", "--lock", LockFile, "--set", "runtime", "--root", Root, "--cache", Path.Combine(_directory.Path, "cache"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            $"test 1.0+deb12u1~1 amd64: downloaded, {deb.Length} bytes, SHA-256 verified, extracted\nruntime: 1 packages ({deb.Length} bytes of .deb) extracted into {Root}\n",
            result.Stdout);
        Assert.Equal("glibc", File.ReadAllText(Path.Combine(Root, "lib/x86_64-linux-gnu/libc.so.6")));
    }

    [Fact]
    public void A_hash_mismatch_exits_1_with_one_line_and_no_root()
    {
        var deb = TestDeb.Build(tar => tar.File("./a", "a"));
        var package = DebianPackageCacheTests.Pin(deb);
        var other = (byte[])deb.Clone();
        other[0] ^= 1;
        _mirror.Put(package.Path, other);
        WriteLock(package);

        var result = Run("fetch", "--lock", LockFile, "--set", "runtime", "--root", Root, "--cache", Path.Combine(_directory.Path, "cache"));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"cloister-runtime-bundler: test 1.0+deb12u1~1 amd64: SHA-256 mismatch: expected {package.Sha256}, got ", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(Root));
    }

    [Theory]
    [InlineData(new string[0], 2, $"no verb {Usage}")]
    [InlineData(new[] { "unpack" }, 2, $"unknown verb 'unpack' {Usage}")]
    [InlineData(new[] { "fetch", "--set", "runtime" }, 2, $"--lock is required {Usage}")]
    [InlineData(new[] { "fetch", "--lock" }, 2, $"--lock needs a value {Usage}")]
    [InlineData(new[] { "fetch", "--lock", "a", "--lock", "b" }, 2, $"--lock is given twice {Usage}")]
    [InlineData(new[] { "fetch", "--lock", "LOCK", "--set", "tools", "--root", "ROOT" }, 2, $"--set 'tools' is not runtime or toolchain {Usage}")]
    [InlineData(new[] { "fetch", "--mirror", "x" }, 2, $"unknown option '--mirror' {Usage}")]
    [InlineData(new[] { "fetch", "--lock", "LOCK", "--set", "toolchain", "--root", "ROOT" }, 1, "LOCK pins no package in the toolchain set")]
    public void Wrong_command_lines_and_inputs_exit_with_one_line(string[] args, int exitCode, string message)
    {
        WriteLock(DebianPackageCacheTests.Pin([1]));

        var result = Run([.. args.Select(arg => arg.Replace("LOCK", LockFile, StringComparison.Ordinal).Replace("ROOT", Root, StringComparison.Ordinal))]);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal($"cloister-runtime-bundler: {message.Replace("LOCK", LockFile, StringComparison.Ordinal)}\n", result.Stderr);
    }

    [Fact]
    public void A_malformed_lock_exits_1_naming_the_line()
    {
        File.WriteAllText(LockFile, "# pins\nruntime\tlibc6\n");

        var result = Run("fetch", "--lock", LockFile, "--set", "runtime", "--root", Root);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"cloister-runtime-bundler: {LockFile}:2: 2 tab-separated fields, expected 7 (set, name, version, architecture, SHA-256, size, path)\n", result.Stderr);
    }

    [Fact]
    public void A_missing_lock_is_a_usage_error()
    {
        var result = Run("fetch", "--lock", LockFile, "--set", "runtime", "--root", Root);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("cloister-runtime-bundler: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(LockFile, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void A_mirror_that_is_no_http_uri_is_refused()
    {
        WriteLock(DebianPackageCacheTests.Pin([1]));

        var result = Run(new Dictionary<string, string> { [DebianPackageCache.MirrorVariable] = "ftp://deb.debian.org/" }, "fetch", "--lock", LockFile, "--set", "runtime", "--root", Root);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("cloister-runtime-bundler: CLOISTER_DEBIAN_MIRROR='ftp://deb.debian.org/' is not an absolute http:// or https:// URI\n", result.Stderr);
    }

    private void WriteLock(params DebianPackage[] packages) =>
        File.WriteAllText(LockFile, "# test lock\n" + string.Concat(packages.Select(p => $"{p.Set}\t{p.Name}\t{p.Version}\t{p.Architecture}\t{p.Sha256}\t{p.Size}\t{p.Path}\n")));

    private ProcessResult Run(params string[] args) =>
        Run(new Dictionary<string, string> { [DebianPackageCache.MirrorVariable] = _mirror.Root.AbsoluteUri }, args);

    private static ProcessResult Run(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        ExternalTool.Capture("dotnet", [Path.Combine(AppContext.BaseDirectory, "cloister-runtime-bundler.dll"), .. args], environment: environment);
}

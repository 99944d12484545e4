using System.Security.Cryptography;
using Cloister.Testing;

namespace Cloister.RuntimeBundler.Tests;

public sealed class DebianPackageCacheTests : IAsyncLifetime, IDisposable
{
    // '+' and '~' are in real pool paths and must survive the trip to the mirror.
    private const string PoolPath = "debian-security/pool/updates/main/t/test/test_1.0+deb12u1~1_amd64.deb";

    private static readonly byte[] s_deb = TestDeb.Build(tar => tar.File("./usr/lib/libtest.so.1", "library"));

    private readonly TempRunDirectory _directory = new();
    private readonly HttpClient _http = new();
    private LoopbackMirror _mirror = null!;

    private static DebianPackage Package => Pin(s_deb);

    private string CacheDirectory => Path.Combine(_directory.Path, "cache");

    public async Task InitializeAsync() => _mirror = await LoopbackMirror.StartAsync();

    public async Task DisposeAsync() => await _mirror.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Downloads_the_pinned_file_keeps_it_under_its_hash_and_then_serves_it_from_the_cache()
    {
        _mirror.Put(PoolPath, s_deb);
        var cache = Cache();

        var first = await cache.FetchAsync(Package);
        var second = await cache.FetchAsync(Package);

        Assert.True(first.Downloaded);
        Assert.False(second.Downloaded);
        Assert.Equal(Path.Combine(CacheDirectory, $"{Package.Sha256}.deb"), second.Path);
        Assert.Equal(s_deb, await File.ReadAllBytesAsync(second.Path));
        Assert.Equal([PoolPath], _mirror.Requests);
        Assert.Equal([$"{Package.Sha256}.deb"], Directory.EnumerateFiles(CacheDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_download_with_another_hash_is_refused_and_deleted()
    {
        var other = (byte[])s_deb.Clone();
        other[^1] ^= 1;
        _mirror.Put(PoolPath, other);

        var ex = await Assert.ThrowsAsync<DebianPackageException>(() => Cache().FetchAsync(Package));

        Assert.Equal(
            $"test 1.0+deb12u1~1 amd64: SHA-256 mismatch: expected {Package.Sha256}, got {Convert.ToHexStringLower(SHA256.HashData(other))} from {_mirror.Root}debian-security/pool/updates/main/t/test/test_1.0%2Bdeb12u1~1_amd64.deb (the download was deleted)",
            ex.Message);
        Assert.Equal(Package, ex.Package);
        Assert.Empty(Directory.EnumerateFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public async Task A_download_of_another_size_is_refused_and_deleted()
    {
        _mirror.Put(PoolPath, s_deb[..^1]);
        var shorter = await Assert.ThrowsAsync<DebianPackageException>(() => Cache().FetchAsync(Package));
        _mirror.Put(PoolPath, [.. s_deb, 0]);
        var longer = await Assert.ThrowsAsync<DebianPackageException>(() => Cache().FetchAsync(Package));

        Assert.EndsWith($" served {s_deb.Length - 1} bytes, the lock pins {s_deb.Length} (the download was deleted)", shorter.Message, StringComparison.Ordinal);
        Assert.EndsWith($" served more than the lock's {s_deb.Length} bytes (the download was deleted)", longer.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public async Task A_package_the_mirror_does_not_serve_fails_naming_it_and_the_answer()
    {
        var ex = await Assert.ThrowsAsync<DebianPackageException>(() => Cache().FetchAsync(Package));

        Assert.StartsWith("test 1.0+deb12u1~1 amd64: ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith(" answered 404 Not Found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_cached_file_is_fetched_again()
    {
        _mirror.Put(PoolPath, s_deb);
        Directory.CreateDirectory(CacheDirectory);
        var cached = Path.Combine(CacheDirectory, $"{Package.Sha256}.deb");
        await File.WriteAllBytesAsync(cached, new byte[s_deb.Length]);

        var fetched = await Cache().FetchAsync(Package);

        Assert.True(fetched.Downloaded);
        Assert.Equal(s_deb, await File.ReadAllBytesAsync(cached));
    }

    [Fact]
    public async Task A_root_is_made_of_the_packages_in_order_and_only_when_all_are_in()
    {
        var second = TestDeb.Build(tar => tar.Symlink("./usr/lib/libtest.so", "libtest.so.1"));
        var secondPackage = Pin(second) with { Name = "test-dev", Path = "debian/pool/main/t/test/test-dev_1.0_amd64.deb" };
        _mirror.Put(PoolPath, s_deb);
        _mirror.Put(secondPackage.Path, second);
        var root = Path.Combine(_directory.Path, "root");
        var reported = new List<string>();

        var fetched = await DebianRoot.CreateAsync([Package, secondPackage], Cache(), root, new Recorder(reported));

        Assert.Equal(["test", "test-dev"], fetched.Select(file => file.Package.Name));
        Assert.Equal(["test", "test-dev"], reported);
        Assert.Equal("library", await File.ReadAllTextAsync(Path.Combine(root, "usr/lib/libtest.so")));
        Assert.Equal(["root"], Directory.EnumerateFileSystemEntries(_directory.Path).Select(Path.GetFileName).Where(name => name != "cache"));
    }

    [Fact]
    public async Task A_failed_root_leaves_nothing_behind_and_a_non_empty_root_is_refused()
    {
        _mirror.Put(PoolPath, s_deb);
        var root = Path.Combine(_directory.Path, "root");
        var missing = Package with { Name = "missing", Sha256 = new string('f', 64), Path = "debian/pool/main/m/missing/missing_1.0_amd64.deb" };

        await Assert.ThrowsAsync<DebianPackageException>(() => DebianRoot.CreateAsync([Package, missing], Cache(), root));
        Assert.Equal(["cache"], Directory.EnumerateFileSystemEntries(_directory.Path).Select(Path.GetFileName));

        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "stale"), "");
        var ex = await Assert.ThrowsAsync<IOException>(() => DebianRoot.CreateAsync([Package], Cache(), root));
        Assert.Equal($"{root} exists and is not an empty directory: the packages are extracted into a new one", ex.Message);
    }

    internal static DebianPackage Pin(byte[] deb) =>
        new("runtime", "test", "1.0+deb12u1~1", "amd64", Convert.ToHexStringLower(SHA256.HashData(deb)), deb.Length, PoolPath);

    private DebianPackageCache Cache() => new(CacheDirectory, _mirror.Root, _http);

    private sealed class Recorder(List<string> names) : IProgress<FetchedPackage>
    {
        public void Report(FetchedPackage value) => names.Add(value.Package.Name);
    }
}

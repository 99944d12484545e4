using Cloister.Testing;

namespace Cloister.RuntimeBundler.Tests;

public sealed class DebianPackageLockTests
{
    private const string Sha = "ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf";
    private const string Libc6 = $"runtime\tlibc6\t2.36-9+deb12u14\tamd64\t{Sha}\t2759320\tdebian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb";

    [Fact]
    public void Parses_every_field_and_keeps_the_files_order()
    {
        var text = "# comment\n\n" + Libc6 + "\n"
            + $"toolchain\tzlib1g\t1:1.2.13.dfsg-1+deb12u1\tamd64\t{new string('a', 64)}\t86880\tdebian-security/pool/updates/main/z/zlib/zlib1g_1.2.13.dfsg-1+deb12u1_amd64.deb\n"
            + $"toolchain\tlibc6\t2.36-9+deb12u14\tamd64\t{Sha}\t2759320\tdebian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb\n";

        var packages = DebianPackageLock.Parse(text, "lock").Packages;

        Assert.Equal(
            [
                new DebianPackage("runtime", "libc6", "2.36-9+deb12u14", "amd64", Sha, 2759320, "debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb"),
                new DebianPackage("toolchain", "zlib1g", "1:1.2.13.dfsg-1+deb12u1", "amd64", new string('a', 64), 86880, "debian-security/pool/updates/main/z/zlib/zlib1g_1.2.13.dfsg-1+deb12u1_amd64.deb"),
                new DebianPackage("toolchain", "libc6", "2.36-9+deb12u14", "amd64", Sha, 2759320, "debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb"),
            ],
            packages);
    }

    [Fact]
    public void A_set_selects_its_packages_and_an_unknown_set_is_refused()
    {
        var lockFile = DebianPackageLock.Parse(Libc6 + "\n" + Libc6.Replace("runtime", "toolchain", StringComparison.Ordinal), "lock");

        Assert.Equal("runtime", Assert.Single(lockFile.InSet("runtime")).Set);
        Assert.Equal("toolchain", Assert.Single(lockFile.InSet("toolchain")).Set);
        Assert.Throws<ArgumentException>(() => lockFile.InSet("tools"));
    }

    [Theory]
    [InlineData("runtime\tlibc6", "lock:1: 2 tab-separated fields, expected 7")]
    [InlineData("runtime libc6 2.36 amd64", "lock:1: 1 tab-separated fields, expected 7")]
    [InlineData($"tools\tlibc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/pool/x.deb", "lock:1: set 'tools' is not runtime or toolchain")]
    [InlineData($"runtime\tLibc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/pool/x.deb", "lock:1: package name 'Libc6' is not a Debian package name")]
    [InlineData($"runtime\tlibc6\tv2\tamd64\t{Sha}\t1\tdebian/pool/x.deb", "lock:1: version 'v2' is not a Debian version")]
    [InlineData($"runtime\tlibc6\t2.36-9\tAMD64\t{Sha}\t1\tdebian/pool/x.deb", "lock:1: architecture 'AMD64' is not a Debian architecture")]
    [InlineData("runtime\tlibc6\t2.36-9\tamd64\tBA4F\t1\tdebian/pool/x.deb", "lock:1: SHA-256 'BA4F' is not 64 lowercase hexadecimal digits")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t0\tdebian/pool/x.deb", "lock:1: size '0' is not a positive number of bytes")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t-1\tdebian/pool/x.deb", "lock:1: size '-1' is not a positive number of bytes")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t1\t/debian/pool/x.deb", "lock:1: path '/debian/pool/x.deb' is not a relative path ending in .deb, without '.' or '..' components")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/../../etc/x.deb", "lock:1: path 'debian/../../etc/x.deb' is not a relative path ending in .deb, without '.' or '..' components")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/pool/x.tar", "lock:1: path 'debian/pool/x.tar' is not a relative path ending in .deb, without '.' or '..' components")]
    [InlineData($"runtime\tlibc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/pool/x.deb\r", "lock:1: the line ends with a carriage return; a lock's lines end with a line feed alone")]
    [InlineData($"runtime\tlib\u001bc6\t2.36-9\tamd64\t{Sha}\t1\tdebian/pool/x.deb", "lock:1: package name 'lib\\u001bc6' is not a Debian package name")]
    public void A_malformed_line_is_refused_naming_the_line_and_the_field(string line, string message)
    {
        var ex = Assert.Throws<FormatException>(() => DebianPackageLock.Parse(line + "\n", "lock"));

        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_package_twice_in_one_set_is_refused()
    {
        var ex = Assert.Throws<FormatException>(() => DebianPackageLock.Parse($"# pins\n{Libc6}\n{Libc6.Replace("2759320", "1", StringComparison.Ordinal)}\n", "lock"));

        Assert.Equal("lock:3: libc6 amd64 is pinned twice in the runtime set (first on line 2)", ex.Message);
    }

    [Fact]
    public void Read_refuses_a_file_that_is_not_utf8_or_too_large()
    {
        using var directory = new TempRunDirectory();
        var binary = Path.Combine(directory.Path, "binary.lock");
        File.WriteAllBytes(binary, [0x72, 0xff, 0xfe, 0x0a]);
        var large = Path.Combine(directory.Path, "large.lock");
        File.WriteAllText(large, new string('#', DebianPackageLock.MaxBytes + 1));

        Assert.Equal($"{binary}: not UTF-8", Assert.Throws<FormatException>(() => DebianPackageLock.Read(binary)).Message);
        Assert.Contains("more than a lock file's", Assert.Throws<FormatException>(() => DebianPackageLock.Read(large)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_repositorys_lock_parses_and_pins_both_sets()
    {
        var lockFile = DebianPackageLock.Read(Path.Combine(RepositoryPaths.Root, "runtime", "debian-packages.lock"));

        Assert.Equal(["libc6", "libssl3"], lockFile.InSet("runtime").Select(package => package.Name).Order(StringComparer.Ordinal));
        Assert.Contains(lockFile.InSet("toolchain"), package => package.Name == "gcc-12");
    }
}

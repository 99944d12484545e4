using System.Formats.Tar;
using System.Security.Cryptography;
using Cloister.Testing;

namespace Cloister.RuntimeBundler.Tests;

public sealed class DebArchiveTests : IDisposable
{
    private readonly TempRunDirectory _directory = new();

    private string Root => Path.Combine(_directory.Path, "root");

    private string Outside => Path.Combine(_directory.Path, "outside");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Extracts_files_directories_and_symbolic_links_with_their_modes_and_times()
    {
        var deb = TestDeb.Build(tar =>
        {
            tar.Directory("./");
            tar.Directory("./usr/");
            tar.Directory("./usr/lib/", (UnixFileMode)0b111_101_000);
            tar.File("./usr/lib/libx.so.1", "library");
            tar.Symlink("./usr/lib/libx.so", "libx.so.1");
            tar.File("./usr/bin/tool", "#!/bin/sh\n", (UnixFileMode)0b111_101_101);
            tar.Symlink("./lib64", "/usr/lib");
        });

        await Extract(deb);

        Assert.Equal("library", File.ReadAllText(Path.Combine(Root, "usr/lib/libx.so.1")));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(Path.Combine(Root, "usr/lib/libx.so.1")));
        Assert.Equal(TestDeb.Time.UtcDateTime, File.GetLastWriteTimeUtc(Path.Combine(Root, "usr/lib/libx.so.1")));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(Root, "usr/bin/tool")));
        Assert.Equal((UnixFileMode)0b111_101_000, File.GetUnixFileMode(Path.Combine(Root, "usr/lib")));
        // A directory the tarball does not list is made 0755, as dpkg makes it.
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(Root, "usr/bin")));
        Assert.Equal("libx.so.1", new FileInfo(Path.Combine(Root, "usr/lib/libx.so")).LinkTarget);
        // Absolute targets are kept: the root is used as '/', where they resolve inside it.
        Assert.Equal("/usr/lib", new FileInfo(Path.Combine(Root, "lib64")).LinkTarget);
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("gzip")]
    [InlineData("none")]
    public async Task A_package_dpkg_deb_built_extracts_as_dpkg_deb_extracts_it(string compression)
    {
        var dpkgDeb = ExternalTool.Require("dpkg-deb", "dpkg");
        var tree = Path.Combine(_directory.Path, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "DEBIAN"));
        File.WriteAllText(Path.Combine(tree, "DEBIAN", "control"), "Package: cloister-test\nVersion: 1:2.0-1~deb12u1\nArchitecture: amd64\nMaintainer: Cloister <cloister@example.invalid>\nDescription: test\n");
        Directory.CreateDirectory(Path.Combine(tree, "usr", "lib", "x86_64-linux-gnu"));
        Directory.CreateDirectory(Path.Combine(tree, "usr", "share", "doc", "cloister-test"), (UnixFileMode)0b111_101_000);
        Directory.CreateDirectory(Path.Combine(tree, "lib64"));
        File.WriteAllText(Path.Combine(tree, "usr", "lib", "x86_64-linux-gnu", "libtest.so.1.2"), string.Concat(Enumerable.Repeat("ELF library bytes ", 5000)));
        File.SetUnixFileMode(Path.Combine(tree, "usr", "lib", "x86_64-linux-gnu", "libtest.so.1.2"), (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(tree, "usr", "share", "doc", "cloister-test", "copyright"), "free");
        File.CreateSymbolicLink(Path.Combine(tree, "usr", "lib", "x86_64-linux-gnu", "libtest.so.1"), "libtest.so.1.2");
        File.CreateSymbolicLink(Path.Combine(tree, "lib64", "libtest.so"), "/usr/lib/x86_64-linux-gnu/libtest.so.1");
        var longName = Path.Combine(tree, "usr", "share", "doc", "cloister-test", new string('n', 120));
        File.WriteAllText(longName, "a name longer than ustar's 100 bytes");
        var deb = Path.Combine(_directory.Path, "test.deb");
        var built = ExternalTool.Capture(dpkgDeb, ["--root-owner-group", $"-Z{compression}", "--build", tree, deb]);
        Assert.True(built.ExitCode == 0, built.ToString());
        var expected = Path.Combine(_directory.Path, "expected");
        var extracted = ExternalTool.Capture(dpkgDeb, ["-x", deb, expected]);
        Assert.True(extracted.ExitCode == 0, extracted.ToString());

        await DebArchive.ExtractDataAsync(deb, Root);

        Assert.Equal(Listing(expected), Listing(Root));
    }

    [Theory]
    [InlineData("../evil", "'../evil' has an empty, '.' or '..' component")]
    [InlineData("./usr/../../evil", "'./usr/../../evil' has an empty, '.' or '..' component")]
    [InlineData("/etc/evil", "'/etc/evil' is an absolute path")]
    [InlineData(".//etc/evil", "'.//etc/evil' is an absolute path")]
    [InlineData("./usr//evil", "'./usr//evil' has an empty, '.' or '..' component")]
    public async Task A_name_that_leaves_the_root_is_refused(string name, string message)
    {
        var deb = TestDeb.Build(tar =>
        {
            tar.Directory("./");
            tar.Directory("./usr/");
            tar.File(name, "escaped");
        });

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));

        Assert.Equal($"test.deb: data.tar.gz: {message}", ex.Message);
        Assert.False(File.Exists(Path.Combine(_directory.Path, "evil")));
    }

    [Theory]
    [InlineData("OUTSIDE")]
    [InlineData("..")]
    [InlineData("usr")]
    public async Task An_entry_below_a_symbolic_link_is_refused_wherever_the_link_points(string target)
    {
        Directory.CreateDirectory(Outside);
        var deb = TestDeb.Build(tar =>
        {
            tar.Directory("./usr/");
            tar.Symlink("./lib", target.Replace("OUTSIDE", Outside, StringComparison.Ordinal));
            tar.File("./lib/libc.so.6", "escaped");
        });

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));

        Assert.Equal("test.deb: data.tar.gz: './lib/libc.so.6' goes through the symbolic link 'lib', which could lead out of the root", ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
        Assert.False(File.Exists(Path.Combine(_directory.Path, "libc.so.6")));
    }

    [Fact]
    public async Task A_link_from_an_earlier_package_is_not_followed_by_a_later_one()
    {
        Directory.CreateDirectory(Outside);
        await Extract(TestDeb.Build(tar => tar.Symlink("./etc", Outside)));

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(TestDeb.Build(tar =>
        {
            tar.Directory("./etc/");
            tar.File("./etc/passwd", "escaped");
        })));

        Assert.Equal("test.deb: data.tar.gz: './etc/' is already in the root as a symbolic link (from this package or one before it)", ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Fact]
    public async Task A_file_over_an_existing_link_is_refused_and_the_link_target_is_untouched()
    {
        Directory.CreateDirectory(Outside);
        var victim = Path.Combine(Outside, "victim");
        File.WriteAllText(victim, "original");
        var deb = TestDeb.Build(tar =>
        {
            tar.Symlink("./victim", victim);
            tar.File("./victim", "overwritten");
        });

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));

        Assert.Equal("test.deb: data.tar.gz: './victim' is already in the root as a symbolic link (from this package or one before it)", ex.Message);
        Assert.Equal("original", File.ReadAllText(victim));
    }

    [Theory]
    [InlineData(TarEntryType.HardLink)]
    [InlineData(TarEntryType.Fifo)]
    [InlineData(TarEntryType.CharacterDevice)]
    public async Task Entries_other_than_files_directories_and_links_are_refused(TarEntryType type)
    {
        var deb = TestDeb.Build(tar =>
        {
            tar.File("./a", "a");
            var entry = new GnuTarEntry(type, "./b");
            if (type == TarEntryType.HardLink)
            {
                entry.LinkName = "./a";
            }

            tar.WriteEntry(entry);
        });

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));

        Assert.Equal($"test.deb: data.tar.gz: './b' is a {type} entry; only files, directories and symbolic links are extracted", ex.Message);
    }

    [Fact]
    public async Task An_ar_member_named_with_a_path_is_refused()
    {
        var deb = TestDeb.Ar(("../../etc/x", "2.0\n"u8.ToArray()));

        var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));

        Assert.Equal("test.deb: the ar member at byte 8 has the name '../../etc/x', which no .deb member has", ex.Message);
    }

    [Fact]
    public async Task Archives_that_are_no_deb_are_refused_with_what_is_wrong()
    {
        var data = TestDeb.TarGz(tar => tar.File("./a", "a"));
        var control = TestDeb.TarGz(tar => tar.File("./control", "Package: x\n"));
        (byte[] Deb, string Message)[] cases =
        [
            ("PK\u0003\u0004 a zip file"u8.ToArray(), "test.deb: not an ar archive (a .deb starts with '!<arch>')"),
            (TestDeb.Ar(("control.tar.gz", control)), "test.deb: the first member is 'control.tar.gz', not debian-binary"),
            (TestDeb.Ar(("debian-binary", "3.0\n"u8.ToArray())), "test.deb: debian-binary says format '3.0', not 2.x"),
            (TestDeb.Ar(("debian-binary", "2.0\n"u8.ToArray()), ("data.tar.gz", data)), "test.deb: the second member is 'data.tar.gz', not control.tar[.gz|.xz|.zst]"),
            (TestDeb.Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.gz", control), ("data.tar.bz2", data)), "test.deb: the third member is 'data.tar.bz2', not data.tar[.gz|.xz|.zst]"),
            (TestDeb.Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.gz", control)), "test.deb: truncated in a member header at byte "),
            (TestDeb.Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.gz", control), ("data.tar.gz", data))[..^20], "test.deb: data.tar.gz: truncated, "),
            (TestDeb.Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.gz", control), ("data.tar.gz", "not gzip"u8.ToArray())), "test.deb: data.tar.gz is malformed: "),
        ];

        foreach (var (deb, message) in cases)
        {
            var ex = await Assert.ThrowsAnyAsync<FormatException>(() => Extract(deb));
            Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
        }
    }

    private Task Extract(byte[] deb) => DebArchive.ExtractDataAsync(new MemoryStream(deb), "test.deb", Root);

    /// <summary>Every entry below a root: type, permission bits, link target or contents, and a file's mtime.</summary>
    private static List<string> Listing(string root)
    {
        var lines = new List<string>();
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(path);
            var relative = Path.GetRelativePath(root, path);
            // Links first: a mode would be the target's, and an absolute target does not exist outside the root.
            lines.Add(info.LinkTarget is { } target ? $"l {relative} -> {target}"
                : Directory.Exists(path) ? $"d {Mode(path)} {relative}"
                : $"f {Mode(path)} {relative} {info.LastWriteTimeUtc:O} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))}");
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);
}

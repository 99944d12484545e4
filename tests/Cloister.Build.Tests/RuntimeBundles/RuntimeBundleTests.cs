using System.Formats.Tar;
using System.Text;
using Cloister.Build.RuntimeBundles;
using Cloister.Build.Supervisor;
using Cloister.Build.Tests.Layers;

namespace Cloister.Build.Tests.RuntimeBundles;

public sealed class RuntimeBundleTests
{
    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Data = (UnixFileMode)0b110_100_100;

    private static readonly RuntimeProvenance Provenance = new()
    {
        Version = "0.1.0",
        Packages = [new RuntimePackage("libssl3", "3.0.17-1~deb12u3", "amd64", new string('b', 64)), new RuntimePackage("libc6", "2.36-9+deb12u13", "amd64", new string('a', 64))],
    };

    // Any dynamically linked executable stands in for the supervisor: what matters here is the tree around it.
    private static SupervisorBundle Tree => SupervisorBundle.Create("/usr/bin/gzip", new SupervisorBundleOptions { DlopenedLibraries = [] });

    [Fact]
    public void A_written_bundle_reads_back_with_its_digest_tree_and_provenance()
    {
        var tree = Tree;
        var (bytes, digest) = Write(tree);

        var bundle = RuntimeBundle.Read(bytes, "bundle.tar", digest);

        Assert.Equal(digest, bundle.Digest);
        Assert.Equal(RuntimeBundle.DigestOf(bytes), digest);
        Assert.Equal([.. tree.Entries.Select(e => e.Path).Append("cloister/runtime.json").Order(StringComparer.Ordinal)], bundle.Entries.Select(e => e.Path));
        foreach (var original in tree.Entries.Where(e => !e.IsDirectory))
        {
            var read = bundle.Entries.Single(e => e.Path == original.Path);
            Assert.Equal(original.Mode, read.Mode);
            Assert.Equal(Content(original), Content(read));
        }

        Assert.Equal("0.1.0", bundle.Provenance.Version);
        Assert.Equal(["libc6", "libssl3"], bundle.Provenance.Packages.Select(p => p.Name));
        Assert.Equal(new string('a', 64), bundle.Provenance.Packages[0].Sha256);
    }

    [Fact]
    public void The_same_tree_gives_the_same_bytes_whatever_the_files_times_or_the_tree_order()
    {
        var directory = Directory.CreateTempSubdirectory("cloister-runtime-").FullName;
        try
        {
            var copy = Path.Combine(directory, "gzip");
            File.Copy("/usr/bin/gzip", copy);
            File.SetLastWriteTimeUtc(copy, new DateTime(2031, 1, 2, 3, 4, 5, DateTimeKind.Utc));
            var first = Write(Tree).Bytes;
            var second = Write(SupervisorBundle.Create(copy, new SupervisorBundleOptions { DlopenedLibraries = [], ModificationTime = DateTimeOffset.UtcNow })).Bytes;
            Assert.Equal(first, second);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Another_digest_than_the_expected_one_is_refused_before_anything_is_read()
    {
        var (bytes, _) = Write(Tree);
        var expected = "sha384:" + new string('0', 96);

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "bundle.tar", expected));

        Assert.Equal(RuntimeBundleError.DigestMismatch, error.Error);
        Assert.Equal($"bundle.tar: the runtime's digest is {RuntimeBundle.DigestOf(bytes)}, expected {expected}", error.Message);
    }

    [Theory]
    [InlineData("sha384:")]
    [InlineData("sha256:0000")]
    [InlineData("SHA384:000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha384:00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000A")]
    public void An_expected_digest_in_another_form_is_an_argument_error(string expected)
    {
        Assert.False(RuntimeBundle.IsDigest(expected));
        Assert.Throws<ArgumentException>(() => RuntimeBundle.Read(Write(Tree).Bytes, "bundle.tar", expected));
    }

    [Fact]
    public void A_tar_written_by_another_writer_is_refused_naming_the_first_field_that_differs()
    {
        // .NET's TarWriter writes the same entries but names the owner (uname "root"): the bundle has one encoding only.
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "cloister/") { Mode = Executable, ModificationTime = DateTimeOffset.UnixEpoch, UserName = "root" });
        }

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(buffer.ToArray(), "other.tar"));

        Assert.Equal(RuntimeBundleError.MalformedHeader, error.Error);
        Assert.Equal("other.tar: the header at byte offset 0 (cloister/) differs from the canonical one in its uname field", error.Message);
    }

    [Fact]
    public void A_header_with_a_wrong_checksum_is_refused()
    {
        var (bytes, _) = Write(Tree);
        bytes[148] ^= 1;

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "bundle.tar"));

        Assert.Equal(RuntimeBundleError.MalformedHeader, error.Error);
        Assert.Contains("chksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bundle_cut_short_or_followed_by_anything_is_refused()
    {
        var (bytes, _) = Write(Tree);

        Assert.Equal(RuntimeBundleError.Truncated, Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes.AsMemory(..^512), "bundle.tar")).Error);
        Assert.Equal(RuntimeBundleError.Truncated, Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes.AsMemory(..^2048), "bundle.tar")).Error);
        Assert.Equal(RuntimeBundleError.Truncated, Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read((byte[])[.. bytes, 0], "bundle.tar")).Error);
        Assert.Equal(RuntimeBundleError.Truncated, Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read((byte[])[.. bytes, .. new byte[512]], "bundle.tar")).Error);
    }

    [Theory]
    [InlineData("etc/", true, "only cloister/ and what is below it may be in a runtime")]
    [InlineData("cloister/../etc/", true, "only cloister/ and what is below it may be in a runtime")]
    [InlineData("cloister//x", false, "only cloister/ and what is below it may be in a runtime")]
    [InlineData("cloister/c/d", false, "its directory cloister/c must come first")]
    [InlineData("cloister/0", false, "entries are in ordinal order, each once; it comes after cloister/bin")]
    [InlineData("cloister/bin/", true, "entries are in ordinal order, each once; it comes after cloister/bin")]
    public void An_entry_outside_the_tree_out_of_order_or_without_its_directory_is_refused(string name, bool directory, string reason)
    {
        var bytes = Craft(("cloister/", true, Executable, ""), ("cloister/bin/", true, Executable, ""), (name, directory, Data, "x"));

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "crafted.tar"));

        Assert.Equal(RuntimeBundleError.UnexpectedEntry, error.Error);
        Assert.EndsWith(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_with_another_mode_is_refused()
    {
        var bytes = Craft(("cloister/", true, Executable, ""), ("cloister/x", false, (UnixFileMode)0b111_111_111, "x"));

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "crafted.tar"));

        Assert.Equal(RuntimeBundleError.UnexpectedEntry, error.Error);
        Assert.Equal("crafted.tar: cloister/x at byte offset 512: a file's mode is 0755 or 0644", error.Message);
    }

    [Fact]
    public void A_bundle_without_the_supervisor_is_refused_naming_it()
    {
        var bytes = Craft(
            ("cloister/", true, Executable, ""), ("cloister/etc/", true, Executable, ""), ("cloister/etc/openssl.cnf", false, Data, "#"),
            ("cloister/home/", true, Executable, ""), ("cloister/lib/", true, Executable, ""), ("cloister/lib/ld-linux-x86-64.so.2", false, Executable, "ELF"),
            ("cloister/runtime.json", false, Data, Encoding.UTF8.GetString(Provenance.ToUtf8Json())));

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "crafted.tar"));

        Assert.Equal(RuntimeBundleError.MissingEntry, error.Error);
        Assert.Equal("crafted.tar: the runtime has no cloister/bin/cloister-enclave", error.Message);
    }

    [Theory]
    [InlineData("{}", "'packages' is missing")]
    [InlineData("{\"version\":\"1\",\"packages\":[],\"extra\":1}", "the document has an unknown key 'extra'")]
    [InlineData("{\"version\":\"1\",\"version\":\"2\",\"packages\":[]}", "not JSON")]
    [InlineData("{\"version\":1,\"packages\":[]}", "'version' is Number, expected String")]
    [InlineData("[", "not JSON")]
    public void A_provenance_that_is_not_the_one_cloister_writes_is_refused(string json, string reason)
    {
        var bytes = Craft(
            ("cloister/", true, Executable, ""), ("cloister/bin/", true, Executable, ""), ("cloister/bin/cloister-enclave", false, Executable, "ELF"),
            ("cloister/etc/", true, Executable, ""), ("cloister/etc/openssl.cnf", false, Data, "#"), ("cloister/home/", true, Executable, ""),
            ("cloister/lib/", true, Executable, ""), ("cloister/lib/ld-linux-x86-64.so.2", false, Executable, "ELF"), ("cloister/runtime.json", false, Data, json));

        var error = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(bytes, "crafted.tar"));

        Assert.Equal(RuntimeBundleError.BadProvenance, error.Error);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_larger_than_a_runtime_can_be_is_refused_without_reading_it()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.OpenWrite(path))
            {
                file.SetLength(RuntimeBundle.MaxSize + 1L);
            }

            Assert.Equal(RuntimeBundleError.TooLarge, Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(path)).Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_reads_exactly_as_the_same_bytes_in_memory()
    {
        var (bytes, digest) = Write(Tree);
        using var directory = new ScratchDirectory();
        var path = directory.Combine("bundle.tar");
        File.WriteAllBytes(path, bytes);

        using var fromFile = RuntimeBundle.Read(path, digest);
        using var inMemory = RuntimeBundle.Read(bytes, path, digest);

        Assert.Equal(inMemory.Digest, fromFile.Digest);
        Assert.Equal(inMemory.Provenance.ToUtf8Json(), fromFile.Provenance.ToUtf8Json());
        Assert.Equal(
            inMemory.Entries.Select(e => (e.Path, e.IsDirectory, e.Mode, e.Length, e.IsDirectory ? null : Content(e))),
            fromFile.Entries.Select(e => (e.Path, e.IsDirectory, e.Mode, e.Length, e.IsDirectory ? null : Content(e))));
    }

    [Fact]
    public void A_file_is_refused_exactly_as_the_same_bytes_in_memory_and_another_digest_comes_first()
    {
        var (bytes, digest) = Write(Tree);
        using var directory = new ScratchDirectory();
        var path = directory.Combine("bundle.tar");
        foreach (var (name, corrupt) in Corruptions(bytes))
        {
            File.WriteAllBytes(path, corrupt);
            foreach (var expected in (string?[])[null, digest])
            {
                var inMemory = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(corrupt, path, expected));
                var fromFile = Assert.Throws<RuntimeBundleException>(() => RuntimeBundle.Read(path, expected));

                Assert.True((inMemory.Error, inMemory.Message) == (fromFile.Error, fromFile.Message), $"{name}: {inMemory.Message} | {fromFile.Message}");
                Assert.True(
                    (expected is null) == (inMemory.Error != RuntimeBundleError.DigestMismatch),
                    $"{name}, expecting {expected ?? "any digest"}: {inMemory.Error}: {inMemory.Message}");
            }
        }
    }

    [Fact]
    public void A_file_modified_in_place_after_the_check_is_refused_when_the_changed_entry_is_read()
    {
        var (bytes, _) = Write(Tree);
        using var directory = new ScratchDirectory();
        var path = directory.Combine("bundle.tar");
        File.WriteAllBytes(path, bytes);
        using var bundle = RuntimeBundle.Read(path);
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            RandomAccess.Write(file, "["u8, bytes.AsSpan().IndexOf(Provenance.ToUtf8Json()));
        }

        var error = Assert.Throws<RuntimeBundleException>(() => Content(bundle.Entries.Single(e => e.Path == "cloister/runtime.json")));

        Assert.Equal(RuntimeBundleError.ChangedAfterCheck, error.Error);
        Assert.Equal($"{path}: cloister/runtime.json changed after the runtime was checked: its bytes are not the ones hashed", error.Message);
        Assert.Equal("0.1.0", bundle.Provenance.Version);
    }

    [Fact]
    public void A_path_replaced_after_the_check_does_not_change_what_the_entries_read()
    {
        var tree = Tree;
        var (bytes, _) = Write(tree);
        using var directory = new ScratchDirectory();
        var path = directory.Combine("bundle.tar");
        File.WriteAllBytes(path, bytes);
        using var bundle = RuntimeBundle.Read(path);
        File.Delete(path);
        File.WriteAllBytes(path, new byte[bytes.Length]);

        var supervisor = bundle.Entries.Single(e => e.Path == "cloister/bin/cloister-enclave");
        Assert.Equal(File.ReadAllBytes("/usr/bin/gzip"), Content(supervisor));
    }

    // Each way the tests above corrupt a bundle, applied to one good bundle.
    private static IEnumerable<(string Name, byte[] Bytes)> Corruptions(byte[] good)
    {
        byte[] Changed(int offset)
        {
            var copy = (byte[])good.Clone();
            copy[offset] ^= 1;
            return copy;
        }

        var json = good.AsSpan().IndexOf(Provenance.ToUtf8Json());
        yield return ("checksum", Changed(148));
        yield return ("name", Changed(0));
        yield return ("padding", Changed(json + Provenance.ToUtf8Json().Length));
        yield return ("provenance", Changed(json));
        yield return ("one block short", good[..^512]);
        yield return ("four blocks short", good[..^2048]);
        yield return ("inside a file", good[..(json + 10)]);
        yield return ("a byte after", [.. good, 0]);
        yield return ("a block after", [.. good, .. new byte[512]]);
        yield return ("empty", []);
        yield return ("no supervisor", Craft(
            ("cloister/", true, Executable, ""), ("cloister/etc/", true, Executable, ""), ("cloister/etc/openssl.cnf", false, Data, "#"),
            ("cloister/home/", true, Executable, ""), ("cloister/lib/", true, Executable, ""), ("cloister/lib/ld-linux-x86-64.so.2", false, Executable, "ELF"),
            ("cloister/runtime.json", false, Data, Encoding.UTF8.GetString(Provenance.ToUtf8Json()))));
        yield return ("mode", Craft(("cloister/", true, Executable, ""), ("cloister/x", false, (UnixFileMode)0b111_111_111, "x")));
        yield return ("order", Craft(("cloister/", true, Executable, ""), ("cloister/bin/", true, Executable, ""), ("cloister/0", false, Data, "x")));
    }

    private static (byte[] Bytes, string Digest) Write(SupervisorBundle tree)
    {
        using var buffer = new MemoryStream();
        var digest = RuntimeBundle.Write(tree, Provenance, buffer);
        return (buffer.ToArray(), digest);
    }

    private static byte[] Content(SupervisorBundleEntry entry)
    {
        using var content = entry.OpenRead();
        using var copy = new MemoryStream();
        content.CopyTo(copy);
        return copy.ToArray();
    }

    // Canonical headers around arbitrary entries: what a crafted bundle would look like if only its tree were wrong.
    private static byte[] Craft(params (string Name, bool Directory, UnixFileMode Mode, string Content)[] entries)
    {
        using var buffer = new MemoryStream();
        var block = new byte[RuntimeBundleTar.BlockSize];
        foreach (var (name, directory, mode, content) in entries)
        {
            var bytes = directory ? [] : Encoding.UTF8.GetBytes(content);
            RuntimeBundleTar.WriteHeader(block, name, directory, directory ? Executable : mode, bytes.Length);
            buffer.Write(block);
            buffer.Write(bytes);
            buffer.Write(new byte[(RuntimeBundleTar.BlockSize - (bytes.Length % RuntimeBundleTar.BlockSize)) % RuntimeBundleTar.BlockSize]);
        }

        buffer.Write(new byte[2 * RuntimeBundleTar.BlockSize]);
        return buffer.ToArray();
    }
}

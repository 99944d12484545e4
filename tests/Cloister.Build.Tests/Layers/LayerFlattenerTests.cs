using System.Formats.Tar;
using System.Text;
using Cloister.Build.Layers;

namespace Cloister.Build.Tests.Layers;

public sealed class LayerFlattenerTests : IDisposable
{
    private readonly FlattenerScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Single_layer_keeps_every_type_mode_owner_and_time()
    {
        var entries = Export(new LayerTar()
            .Directory("usr/", mode: 0b111_101_101, mtime: 1_600_000_000)
            .Directory("usr/bin/", mode: 0b111_101_101)
            .File("usr/bin/su", "suid", mode: 0b100_111_101_101, uid: 0, gid: 0)
            .File("usr/bin/wall", "sgid", mode: 0b010_111_101_101, gid: 5)
            .Directory("tmp/", mode: 0b001_111_111_111)
            .File("etc-secret", "x", mode: 0, uid: 1000, gid: 1000)
            .File("home-nobody", "n", uid: 65534, gid: 65534, mtime: 1_234_567_890)
            .Symlink("usr/lib64", "lib")
            .Device("null", TarEntryType.CharacterDevice, 1, 3)
            .Device("loop0", TarEntryType.BlockDevice, 7, 0, mode: 0b110_110_000)
            .Fifo("pipe")
            .ToArray());

        Assert.Equal(
            ["etc-secret", "home-nobody", "loop0", "null", "pipe", "tmp", "usr", "usr/bin", "usr/bin/su", "usr/bin/wall", "usr/lib64"],
            entries.Select(e => e.Path));
        var byPath = entries.ToDictionary(e => e.Path);
        Assert.Equal((UnixFileMode)0b100_111_101_101, byPath["usr/bin/su"].Mode);
        Assert.Equal((UnixFileMode)0b010_111_101_101, byPath["usr/bin/wall"].Mode);
        Assert.Equal(5, byPath["usr/bin/wall"].Gid);
        Assert.Equal((UnixFileMode)0b001_111_111_111, byPath["tmp"].Mode);
        Assert.Equal((UnixFileMode)0, byPath["etc-secret"].Mode);
        Assert.Equal((1000, 1000), (byPath["etc-secret"].Uid, byPath["etc-secret"].Gid));
        Assert.Equal((65534, 65534, 1_234_567_890L), (byPath["home-nobody"].Uid, byPath["home-nobody"].Gid, byPath["home-nobody"].ModificationTime));
        Assert.Equal(1_600_000_000, byPath["usr"].ModificationTime);
        Assert.Equal((TarEntryType.SymbolicLink, "lib"), (byPath["usr/lib64"].EntryType, byPath["usr/lib64"].LinkName));
        Assert.Equal((TarEntryType.CharacterDevice, 1, 3), (byPath["null"].EntryType, byPath["null"].DeviceMajor, byPath["null"].DeviceMinor));
        Assert.Equal((TarEntryType.BlockDevice, 7, 0), (byPath["loop0"].EntryType, byPath["loop0"].DeviceMajor, byPath["loop0"].DeviceMinor));
        Assert.Equal(TarEntryType.Fifo, byPath["pipe"].EntryType);
        Assert.Equal("suid", Content(byPath["usr/bin/su"]));
        Assert.Equal(4, byPath["usr/bin/su"].Length);
    }

    [Fact]
    public void Walk_is_depth_first_with_bytewise_sorted_names_not_sorted_full_paths()
    {
        var entries = Export(new LayerTar()
            .File("a.b").File("a-b").Directory("a/").File("a/b").File("B").File("_").File("\u00e9").File("\U0001F600").File("\uFF21")
            .ToArray());

        // Sorting whole paths would put "a-b" and "a.b" before "a/b"; Go's Walk visits a's children right after "a".
        Assert.Equal(["B", "_", "a", "a/b", "a-b", "a.b", "\u00e9", "\uFF21", "\U0001F600"], entries.Select(e => e.Path));
    }

    [Fact]
    public void Names_are_normalised_and_long_names_survive_pax_and_gnu()
    {
        var longDirectory = string.Join('/', Enumerable.Range(0, 12).Select(i => $"directory-{i:D2}"));
        var longName = longDirectory + "/file-with-a-long-name";
        foreach (var format in new[] { TarEntryFormat.Pax, TarEntryFormat.Gnu })
        {
            var entries = Export(new LayerTar(format)
                .Directory("./")
                .Directory("./usr/")
                .File("./usr//bin", "x")
                .File("./usr/./lib", "y")
                .Directory(longDirectory + "/")
                .File(longName, "long")
                .HardLink("usr/long-link", longName)
                .ToArray());

            Assert.Contains(entries, e => e.Path == "usr/bin");
            Assert.Contains(entries, e => e.Path == "usr/lib");
            Assert.Equal("long", Content(entries.Single(e => e.Path == longName)));
            Assert.Equal((TarEntryType.HardLink, longName), entries.Single(e => e.Path == "usr/long-link") is var link ? (link.EntryType, link.LinkName) : default);
        }
    }

    [Fact]
    public void Whiteout_deletes_the_lower_path_and_its_subtree()
    {
        var entries = Export(
            new LayerTar().Directory("etc/").File("etc/keep").File("etc/drop").Directory("var/").Directory("var/cache/").File("var/cache/a").ToArray(),
            new LayerTar().Whiteout("etc/.wh.drop").Whiteout("var/.wh.cache").Whiteout("etc/.wh.never-existed").ToArray());

        Assert.Equal(["etc", "etc/keep", "var"], entries.Select(e => e.Path));
    }

    [Fact]
    public void Whiteout_applies_to_lower_layers_only_wherever_it_stands_in_the_tar()
    {
        var entries = Export(
            new LayerTar().File("x", "old").ToArray(),
            new LayerTar().File("x", "new").Whiteout(".wh.x").ToArray());

        Assert.Equal("new", Content(entries.Single(e => e.Path == "x")));
    }

    [Fact]
    public void A_character_device_0_0_is_a_whiteout_as_overlayfs_reads_it_under_docker_overlay2()
    {
        var flattener = _scope.Flatten(
            new LayerTar().File("keep").File("gone", "x").Directory("dir/").File("dir/inner").ToArray(),
            new LayerTar()
                .Device("gone", TarEntryType.CharacterDevice, 0, 0)
                .Device("dir", TarEntryType.CharacterDevice, 0, 0)
                .Device("never-there", TarEntryType.CharacterDevice, 0, 0)
                .Device("null", TarEntryType.CharacterDevice, 1, 3)
                .Device("block-0-0", TarEntryType.BlockDevice, 0, 0)
                .ToArray());

        Assert.Equal(["block-0-0", "keep", "null"], flattener.Export().Select(e => e.Path));
    }

    [Fact]
    public void Opaque_directory_hides_lower_children_and_keeps_its_own_layer_children()
    {
        var entries = Export(
            new LayerTar().Directory("app/").File("app/old").Directory("app/sub/").File("app/sub/deep").File("other").ToArray(),
            new LayerTar().Directory("app/", mode: 0b111_000_000).File("app/new").Whiteout("app/.wh..wh..opq").ToArray());

        Assert.Equal(["app", "app/new", "other"], entries.Select(e => e.Path));
        Assert.Equal((UnixFileMode)0b111_000_000, entries[0].Mode);
    }

    [Fact]
    public void Directory_metadata_comes_from_the_newest_layer_and_children_merge()
    {
        var entries = Export(
            new LayerTar().Directory("d/", mode: 0b111_101_101, uid: 0, mtime: 100).File("d/a").ToArray(),
            new LayerTar().Directory("d/", mode: 0b111_000_000, uid: 1000, gid: 1000, mtime: 200).File("d/b").ToArray());

        var directory = entries[0];
        Assert.Equal(("d", (UnixFileMode)0b111_000_000, 1000, 1000, 200L), (directory.Path, directory.Mode, directory.Uid, directory.Gid, directory.ModificationTime));
        Assert.Equal(["d", "d/a", "d/b"], entries.Select(e => e.Path));
    }

    [Fact]
    public void Other_types_replace_a_directory_with_its_subtree_and_a_directory_replaces_a_file()
    {
        var entries = Export(
            new LayerTar().Directory("d/").File("d/child").File("f", "file").ToArray(),
            new LayerTar().Symlink("d", "/elsewhere").Directory("f/").File("f/inside").ToArray());

        Assert.Equal(["d", "f", "f/inside"], entries.Select(e => e.Path));
        Assert.Equal(TarEntryType.SymbolicLink, entries[0].EntryType);
        Assert.Equal(TarEntryType.Directory, entries[1].EntryType);
    }

    [Fact]
    public void Missing_parent_directories_are_created_0755_root_at_the_epoch()
    {
        var entries = Export(new LayerTar().File("a/b/c", "x").ToArray());

        Assert.Equal(["a", "a/b", "a/b/c"], entries.Select(e => e.Path));
        Assert.All(entries.Take(2), e => Assert.Equal(((UnixFileMode)0b111_101_101, 0, 0, 0L), (e.Mode, e.Uid, e.Gid, e.ModificationTime)));
    }

    [Fact]
    public void Hard_links_export_the_first_path_in_walk_order_as_the_file_and_the_rest_as_links()
    {
        var entries = Export(new LayerTar()
            .Directory("z/").File("z/original", "shared", mode: 0b111_101_101, uid: 7)
            .HardLink("a-link", "z/original")
            .Directory("m/").HardLink("m/link", "./z/original")
            .ToArray());

        var byPath = entries.ToDictionary(e => e.Path);
        Assert.Equal(TarEntryType.RegularFile, byPath["a-link"].EntryType);
        Assert.Equal((TarEntryType.HardLink, "a-link"), (byPath["m/link"].EntryType, byPath["m/link"].LinkName));
        Assert.Equal((TarEntryType.HardLink, "a-link"), (byPath["z/original"].EntryType, byPath["z/original"].LinkName));
        Assert.Equal(((UnixFileMode)0b111_101_101, 7), (byPath["z/original"].Mode, byPath["z/original"].Uid));
        Assert.Equal("shared", Content(byPath["a-link"]));
    }

    [Fact]
    public void Replacing_or_deleting_a_linked_path_leaves_the_other_paths_linked()
    {
        var entries = Export(
            new LayerTar().File("a", "v1").HardLink("b", "a").HardLink("c", "a").HardLink("d", "a").ToArray(),
            new LayerTar().File("b", "v2").Whiteout(".wh.a").ToArray());

        var byPath = entries.ToDictionary(e => e.Path);
        Assert.Equal(["b", "c", "d"], entries.Select(e => e.Path));
        Assert.Equal((TarEntryType.RegularFile, "v2"), (byPath["b"].EntryType, Content(byPath["b"])));
        Assert.Equal((TarEntryType.RegularFile, "v1"), (byPath["c"].EntryType, Content(byPath["c"])));
        Assert.Equal((TarEntryType.HardLink, "c"), (byPath["d"].EntryType, byPath["d"].LinkName));
    }

    [Fact]
    public void A_hard_link_may_point_at_a_lower_layer_file()
    {
        var entries = Export(
            new LayerTar().File("bin/tool", "t").ToArray(),
            new LayerTar().HardLink("bin/alias", "bin/tool").ToArray());

        Assert.Equal((TarEntryType.HardLink, "bin/alias"), entries.Single(e => e.Path == "bin/tool") is var tool ? (tool.EntryType, tool.LinkName) : default);
    }

    [Fact]
    public void Global_pax_headers_are_ignored()
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, leaveOpen: true))
        {
            writer.WriteEntry(new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { ["comment"] = "x" }));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "only/"));
        }

        Assert.Equal(["only"], Export(stream.ToArray()).Select(e => e.Path));
    }

    [Fact]
    public async Task Async_apply_gives_the_same_tree_as_sync_apply()
    {
        var layers = new[]
        {
            new LayerTar().Directory("d/").File("d/a", "1").File("d/b", "2").HardLink("d/c", "d/a").ToArray(),
            new LayerTar().Whiteout("d/.wh.b").File("d/e", "3").ToArray(),
        };
        var sync = Export(layers);
        var flattener = NewFlattener();
        for (var i = 0; i < layers.Length; i++)
        {
            await flattener.ApplyLayerAsync(new MemoryStream(layers[i]), $"layer{i}");
        }

        var asynchronous = flattener.Export();
        Assert.Equal(Describe(sync), Describe(asynchronous));
        Assert.Equal(2, flattener.LayerCount);
    }

    [Fact]
    public void Contents_are_spooled_to_one_temporary_file_that_dispose_deletes()
    {
        var directory = _scope.Combine("spool");
        Directory.CreateDirectory(directory);
        var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = directory });
        flattener.ApplyLayer(new LayerTar().File("a", "12345").File("b", "678").ToStream(), "l0");

        Assert.Single(Directory.GetFiles(directory));
        Assert.Equal(8, flattener.SpooledLength);
        var entry = flattener.Export()[0];
        flattener.Dispose();

        Assert.Empty(Directory.GetFiles(directory));
        Assert.Throws<ObjectDisposedException>(() => entry.OpenRead().ReadByte());
        Assert.Throws<ObjectDisposedException>(() => flattener.Export());
    }

    [Fact]
    public void Large_layers_stream_through_the_spool_without_buffering_contents_in_memory()
    {
        const int fileSize = 4 << 20;
        const int files = 24;
        var layer = new MemoryStream();
        using (var writer = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            var content = new byte[fileSize];
            for (var i = 0; i < files; i++)
            {
                content.AsSpan().Fill((byte)i);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"blob{i:D2}") { DataStream = new MemoryStream(content) });
            }
        }

        layer.Position = 0;
        var flattener = NewFlattener();
        var before = GC.GetAllocatedBytesForCurrentThread();
        flattener.ApplyLayer(layer, "big");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // 96 MiB of contents must not pass through managed arrays: only pooled copy buffers and metadata are allowed.
        Assert.True(allocated < 8 << 20, $"flattening allocated {allocated} bytes");
        var last = flattener.Export()[^1];
        using var stream = last.OpenRead();
        var copy = new byte[fileSize];
        stream.ReadExactly(copy);
        Assert.All(copy, b => Assert.Equal(files - 1, b));
    }

    private static string Content(FlattenedEntry entry)
    {
        using var reader = new StreamReader(entry.OpenRead(), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static IEnumerable<string> Describe(IEnumerable<FlattenedEntry> entries) =>
        entries.Select(e => $"{e.Path} {e.EntryType} {e.Mode} {e.Uid}:{e.Gid} {e.ModificationTime} {e.LinkName} {e.Length} {Content(e)}");

    private LayerFlattener NewFlattener() => _scope.Create();

    [Fact]
    public async Task A_layer_is_read_to_its_end_so_a_failure_there_refuses_it()
    {
        // Image sources verify a layer's digest when its stream ends, after the tar's end-of-archive blocks.
        var flattener = _scope.Create();
        var layer = new LayerTar().File("good", "x").ToArray();
        using var failingAtEnd = new FailingAtEndStream(layer);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => flattener.ApplyLayerAsync(failingAtEnd, "layer0"));

        Assert.Equal("digest mismatch", ex.Message);
        Assert.Throws<InvalidOperationException>(() => flattener.Export());
    }

    private sealed class FailingAtEndStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(Span<byte> buffer) => Fail(base.Read(buffer), buffer.Length);

        public override int Read(byte[] buffer, int offset, int count) => Fail(base.Read(buffer, offset, count), count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        private static int Fail(int read, int asked) => read == 0 && asked > 0 ? throw new InvalidDataException("digest mismatch") : read;
    }

    private IReadOnlyList<FlattenedEntry> Export(params byte[][] layers) => _scope.Flatten(layers).Export();
}

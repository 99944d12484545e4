using System.Formats.Tar;
using Cloister.Build.Layers;

namespace Cloister.Build.Tests.Layers;

public sealed class HostileLayerTests : IDisposable
{
    private const string Label = "sha256:0123abcd";

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("../x", LayerFailure.PathTraversal)]
    [InlineData("a/../../x", LayerFailure.PathTraversal)]
    [InlineData("a/b/..", LayerFailure.PathTraversal)]
    [InlineData("/etc/passwd", LayerFailure.AbsolutePath)]
    [InlineData("//etc/passwd", LayerFailure.AbsolutePath)]
    public void Names_that_leave_the_root_are_refused(string name, LayerFailure failure) =>
        AssertRefused(failure, name, new LayerTar().File(name, "owned").ToArray());

    [Theory]
    [InlineData("../../etc/shadow")]
    [InlineData("/etc/shadow")]
    [InlineData("ok/../../etc/shadow")]
    public void Hard_links_that_leave_the_root_are_refused(string target) =>
        AssertRefused(LayerFailure.HardLinkEscape, "x", new LayerTar().HardLink("x", target).ToArray());

    [Fact]
    public void Hard_link_to_a_missing_target_is_refused() =>
        AssertRefused(LayerFailure.HardLinkTargetMissing, "x", new LayerTar().File("y").HardLink("x", "nowhere").ToArray());

    [Fact]
    public void Hard_link_to_a_target_deleted_by_a_whiteout_of_the_same_layer_is_refused() =>
        AssertRefused(
            LayerFailure.HardLinkTargetMissing, "x", new LayerTar().File("y").ToArray(), new LayerTar().Whiteout(".wh.y").HardLink("x", "y").ToArray());

    [Fact]
    public void Hard_link_to_a_directory_is_refused() =>
        AssertRefused(LayerFailure.HardLinkToDirectory, "x", new LayerTar().Directory("d/").HardLink("x", "d").ToArray());

    [Fact]
    public void Writing_through_a_symlink_of_a_lower_layer_is_refused() =>
        AssertRefused(
            LayerFailure.SymlinkInPath, "lib/passwd", new LayerTar().Symlink("lib", "/etc").ToArray(), new LayerTar().File("lib/passwd", "root::0:0").ToArray());

    [Fact]
    public void Writing_through_a_symlink_of_the_same_layer_is_refused() =>
        AssertRefused(LayerFailure.SymlinkInPath, "lib/sub/x", new LayerTar().Symlink("lib", "../../").File("lib/sub/x").ToArray());

    [Fact]
    public void Whiteouts_through_a_symlink_are_refused() =>
        AssertRefused(
            LayerFailure.SymlinkInPath, "lib/.wh.passwd", new LayerTar().Symlink("lib", "/etc").ToArray(), new LayerTar().Whiteout("lib/.wh.passwd").ToArray());

    [Fact]
    public void Hard_link_targets_through_a_symlink_are_refused() =>
        AssertRefused(LayerFailure.SymlinkInPath, "x", new LayerTar().Symlink("lib", "/etc").HardLink("x", "lib/shadow").ToArray());

    [Fact]
    public void Entries_below_a_regular_file_are_refused() =>
        AssertRefused(LayerFailure.ParentNotDirectory, "f/x", new LayerTar().File("f").File("f/x").ToArray());

    [Theory]
    [InlineData("a", "a")]
    [InlineData("a", "./a")]
    [InlineData("d/", "d")]
    public void The_same_path_twice_in_one_layer_is_refused(string first, string second) =>
        AssertRefused(LayerFailure.DuplicateEntry, second, new LayerTar().File(first.TrimEnd('/')).File(second).ToArray());

    [Fact]
    public void An_absurd_size_header_is_refused_before_any_data_is_read() =>
        AssertRefused(LayerFailure.FileTooLarge, "huge", RawTarHeader.Archive(0, RawTarHeader.Create("huge", '0', 1L << 40)));

    [Fact]
    public void A_file_over_the_configured_limit_is_refused()
    {
        var options = new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path, MaxFileSize = 100 };
        AssertRefused(LayerFailure.FileTooLarge, "big", options, new LayerTar().File("small", new byte[100]).File("big", new byte[101]).ToArray());
    }

    [Fact]
    public void Contents_over_the_configured_total_are_refused()
    {
        var options = new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path, MaxTotalSize = 150 };
        AssertRefused(
            LayerFailure.TotalSizeExceeded, "second", options, new LayerTar().File("first", new byte[100]).ToArray(), new LayerTar().File("second", new byte[51]).ToArray());
    }

    [Theory]
    [InlineData('7')]
    [InlineData('M')]
    [InlineData('V')]
    [InlineData('Z')]
    public void Unsupported_entry_types_are_refused(char typeFlag) =>
        AssertRefused(LayerFailure.UnsupportedEntryType, "odd", RawTarHeader.Archive(0, RawTarHeader.Create("odd", typeFlag, 0)));

    [Fact]
    public void Sparse_files_are_refused_before_their_name_is_known()
    {
        var error = Refuse(RawTarHeader.Archive(0, RawTarHeader.Create("sparse", 'S', 0)));
        Assert.Equal((LayerFailure.UnsupportedEntryType, null, 0L), (error.Failure, error.EntryName, error.Offset));
        Assert.StartsWith($"layer 1 ({Label}), at byte 0: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".wh..wh.plnk/1.2")]
    [InlineData(".wh..wh.plnk")]
    [InlineData("d/.wh.x/y")]
    public void Aufs_metadata_is_refused(string name) =>
        AssertRefused(LayerFailure.UnsupportedEntryType, name, new LayerTar().File(name).ToArray());

    [Theory]
    [InlineData(".wh.")]
    [InlineData("d/.wh..")]
    public void Whiteouts_of_nothing_are_refused(string name) =>
        AssertRefused(LayerFailure.InvalidPath, name, new LayerTar().File(name).ToArray());

    [Fact]
    public void A_root_entry_that_is_not_a_directory_is_refused() =>
        AssertRefused(LayerFailure.InvalidPath, "./", RawTarHeader.Archive(0, RawTarHeader.Create("./", '0', 0)));

    [Fact]
    public void A_symlink_without_target_is_refused() =>
        AssertRefused(LayerFailure.InvalidPath, "empty", RawTarHeader.Archive(0, RawTarHeader.Create("empty", '2', 0)));

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void A_tar_cut_anywhere_is_truncated(double fraction)
    {
        var layer = new LayerTar().File("a", new byte[3000]).File("b", new byte[3000]).ToArray();
        var cut = layer.AsSpan(0, (int)(layer.Length * fraction)).ToArray();
        var error = Refuse(cut);
        Assert.Equal(LayerFailure.Truncated, error.Failure);
        Assert.Contains("layer 1 (sha256:0123abcd)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tar_cut_between_entries_without_its_end_block_is_truncated()
    {
        var layer = new LayerTar().File("a", new byte[512]).File("b", new byte[512]).ToArray();
        var error = Refuse(layer.AsSpan(0, 2048).ToArray());
        Assert.Equal(LayerFailure.Truncated, error.Failure);
    }

    [Fact]
    public void A_truncated_file_names_the_entry_and_its_offset()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("first", new byte[10]).File("second", new byte[5000]).ToArray();
        var error = Refuse(layer.AsSpan(0, 3000).ToArray());
        Assert.Equal((LayerFailure.Truncated, "second", 1024L), (error.Failure, error.EntryName, error.Offset));
        Assert.Contains("entry 'second' at byte 1024", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_number_field_is_malformed()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").ToArray();
        "zz"u8.CopyTo(layer.AsSpan(124));
        RawTarHeader.Seal(layer, 0);
        var error = Refuse(layer);
        Assert.Equal(LayerFailure.MalformedArchive, error.Failure);
        Assert.DoesNotContain("checksum", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1024, 5)]
    [InlineData(1024, 150)]
    [InlineData(1024, 300)]
    public void A_header_whose_checksum_does_not_match_is_refused_before_it_is_parsed(int header, int position)
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").File("b", "y").ToArray();
        layer[header + position] ^= 0x01;

        var error = Refuse(layer);

        Assert.Equal((LayerFailure.MalformedArchive, null, (long)header), (error.Failure, error.EntryName, error.Offset));
        Assert.EndsWith($"at byte {header}: invalid tar header: its checksum does not match its bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_header_after_a_long_name_entry_is_checked_too()
    {
        var layer = new LayerTar(TarEntryFormat.Gnu).File("first").File(new string('n', 120), "long").ToArray();
        // The second file is a GNU long name header (512), the name (1024), then the file's own header (1536).
        Assert.Equal((byte)'L', layer[512 + 156]);
        layer[1536 + 20] ^= 0x01;

        var error = Refuse(layer);

        Assert.Equal((LayerFailure.MalformedArchive, 1536L), (error.Failure, error.Offset));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_signed_byte_sum_that_historic_tars_wrote_is_accepted_as_a_checksum()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("\u00e9t\u00e9", "summer").ToArray();
        RawTarHeader.Seal(layer, 0, signed: true);

        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });
        flattener.ApplyLayer(new MemoryStream(layer), Label);

        Assert.Equal(["\u00e9t\u00e9"], flattener.Export().Select(e => e.Path));
    }

    [Fact]
    public void A_block_with_a_blank_checksum_field_does_not_end_the_archive_early()
    {
        // TarReader takes such a block for the end and would drop the entries after it.
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").File("hidden", "y").ToArray();
        layer.AsSpan(1024 + 148, 8).Clear();

        var error = Refuse(layer);

        Assert.Equal((LayerFailure.MalformedArchive, null, 1024L), (error.Failure, error.EntryName, error.Offset));
    }

    [Theory]
    [InlineData('x', 1L << 30, "PAX extended header claims 1073741824 bytes")]
    [InlineData('x', 8L << 30, "PAX extended header claims 8589934592 bytes")]
    [InlineData('g', (1 << 20) + 1, "PAX global header claims 1048577 bytes")]
    [InlineData('L', 1L << 40, "GNU long name claims 1099511627776 bytes")]
    [InlineData('K', 4L << 20, "GNU long link name claims 4194304 bytes")]
    public void Metadata_entries_over_one_mebibyte_are_refused_before_they_are_read(char typeFlag, long size, string message)
    {
        // Only the header is there: the refusal must come before a reader tries to buffer the claimed size.
        var header = RawTarHeader.Create("meta", typeFlag, size);

        var error = Refuse(header);

        Assert.Equal((LayerFailure.MalformedArchive, 0L), (error.Failure, error.Offset));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_block_followed_by_one_that_is_not_zero_is_refused()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").ToArray();
        Assert.Equal(2048, layer.Length);
        layer[1536 + 7] = 1;

        var error = Refuse(layer);

        Assert.Equal((LayerFailure.MalformedArchive, null, 1536L), (error.Failure, error.EntryName, error.Offset));
        Assert.Contains("a zero block is followed by one that is not zero", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_that_ends_inside_the_second_zero_block_is_truncated()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").ToArray();

        var error = Refuse(layer[..1600]);

        Assert.Equal((LayerFailure.Truncated, 1536L), (error.Failure, error.Offset));
    }

    [Fact]
    public void One_zero_block_then_the_end_of_the_stream_and_zeros_or_anything_after_two_zero_blocks_are_accepted()
    {
        var layer = new LayerTar(TarEntryFormat.Ustar).File("a", "x").ToArray();
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });

        flattener.ApplyLayer(new MemoryStream(layer[..1536]), "one end block");
        flattener.ApplyLayer(new MemoryStream([.. layer, .. new byte[8192]]), "record padding");
        flattener.ApplyLayer(new MemoryStream([.. layer, .. "after the end"u8]), "trailing bytes");

        Assert.Equal(3, flattener.LayerCount);
    }

    [Fact]
    public void Data_of_a_whiteout_is_skipped_so_the_next_header_is_found_where_it_is()
    {
        // The whiteout's 700 bytes fill the blocks at 512 and 1024; the next header is at 1536.
        var layer = new LayerTar(TarEntryFormat.Ustar).File(".wh.gone", new byte[700]).File("b", "y").ToArray();
        layer[1536 + 10] ^= 0x01;

        var error = Refuse(layer);

        Assert.Equal((LayerFailure.MalformedArchive, 1536L), (error.Failure, error.Offset));
    }

    [Fact]
    public void An_oversized_metadata_entry_after_a_small_one_is_refused_too()
    {
        // Found by fuzz/ (layer-tar, layer-blob): TarReader buffers a metadata entry whole, in an array sized by its
        // header alone, so a 1 KiB layer made it allocate a GiB, only to find the data missing.
        byte[] layer = [.. RawTarHeader.Create("././@LongLink", 'L', 9), .. "longname\0"u8, .. new byte[503], .. RawTarHeader.Create("././@LongLink", 'K', 1L << 30)];

        var error = Refuse(layer);

        Assert.Equal(LayerFailure.MalformedArchive, error.Failure);
        Assert.Contains("GNU long link name claims 1073741824 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void After_a_refused_layer_the_flattener_refuses_further_use()
    {
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });
        Assert.Throws<LayerException>(() => flattener.ApplyLayer(new MemoryStream(new LayerTar().File("../x").ToArray()), Label));
        Assert.Throws<InvalidOperationException>(() => flattener.Export());
        Assert.Throws<InvalidOperationException>(() => flattener.ApplyLayer(new LayerTar().File("y").ToStream(), "next"));
    }

    private static void AssertRefusedCore(LayerFailure failure, string entryName, LayerException error)
    {
        Assert.Equal(failure, error.Failure);
        Assert.Equal(1, error.LayerIndex);
        Assert.Equal(Label, error.LayerLabel);
        Assert.Equal(entryName, error.EntryName);
        Assert.StartsWith($"layer 1 ({Label}), entry '{entryName}' at byte ", error.Message, StringComparison.Ordinal);
    }

    private void AssertRefused(LayerFailure failure, string entryName, params byte[][] layers) =>
        AssertRefused(failure, entryName, new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path }, layers);

    /// <summary>Applies a harmless layer 0, then <paramref name="layers"/>; the last one must be refused as layer 1.</summary>
    private static void AssertRefused(LayerFailure failure, string entryName, LayerFlattenerOptions options, params byte[][] layers)
    {
        using var flattener = new LayerFlattener(options);
        var all = layers.Length == 1 ? [new LayerTar().Directory("base/").ToArray(), layers[0]] : layers;
        for (var i = 0; i < all.Length - 1; i++)
        {
            flattener.ApplyLayer(new MemoryStream(all[i]), i == 0 ? "base" : Label);
        }

        var error = Assert.Throws<LayerException>(() => flattener.ApplyLayer(new MemoryStream(all[^1]), Label));
        AssertRefusedCore(failure, entryName, error);
    }

    private LayerException Refuse(byte[] layer)
    {
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });
        flattener.ApplyLayer(new LayerTar().Directory("base/").ToStream(), "base");
        return Assert.Throws<LayerException>(() => flattener.ApplyLayer(new MemoryStream(layer), Label));
    }
}

using System.Formats.Tar;
using System.Text;
using Cloister.Build.Images;
using Cloister.Build.Tests.Layers;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// Archives that are not tars, found by fuzz/ (docker-archive), and headers Docker's reader refuses: each is a
/// malformed-archive error.
/// </summary>
public sealed class DockerArchiveImageSourceTests : IDisposable
{
    private readonly TempRunDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    public static TheoryData<string, byte[]> NotTars => new()
    {
        // afl-tmin's minimum: the archive ends inside the first header (EndOfStreamException escaped).
        { "truncated", "0"u8.ToArray() },
        // A base-256 size too large for a long (OverflowException escaped).
        { "oversized", WithSizeField([0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) },
        // A GNU sparse member, which TarReader does not read (NotSupportedException escaped).
        { "sparse", RawTarHeader.Archive(0, RawTarHeader.Create("manifest.json", 'S', 0)) },
    };

    [Theory]
    [MemberData(nameof(NotTars))]
    public async Task An_archive_whose_tar_headers_cannot_be_read_is_malformed(string name, byte[] archive)
    {
        var path = Path.Combine(_directory.Path, $"{name}.tar");
        await File.WriteAllBytesAsync(path, archive);
        using var source = new DockerArchiveImageSource(ImageReference.Parse($"docker-archive:{path}"));

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => source.ResolveAsync());

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.StartsWith($"docker-archive:{path}: ", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> HostileHeaders => new()
    {
        // TarReader on the archive file would rent an array of the claimed size before finding the data missing.
        { "pax", RawTarHeader.Archive(0, RawTarHeader.Create("meta", 'x', 1L << 30)), "at byte 0: the PAX extended header claims 1073741824 bytes" },
        { "long-name", [.. RawTarHeader.Create("a", '0', 0), .. RawTarHeader.Create("././@LongLink", 'L', 4L << 30)], "at byte 512: the GNU long name claims 4294967296 bytes" },
        // TarReader checks no checksum: Docker's reader refuses the header.
        { "checksum", WithChecksumBroken(RawTarHeader.Archive(0, RawTarHeader.Create("manifest.json", '0', 0))), "at byte 0: invalid tar header: its checksum does not match" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public async Task An_archive_header_a_docker_reader_refuses_is_malformed_before_it_is_parsed(string name, byte[] archive, string reason)
    {
        var path = Path.Combine(_directory.Path, $"{name}.tar");
        await File.WriteAllBytesAsync(path, archive);
        using var source = new DockerArchiveImageSource(ImageReference.Parse($"docker-archive:{path}"));

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => source.ResolveAsync());

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    private static byte[] WithChecksumBroken(byte[] archive)
    {
        archive[0] ^= 0x01;
        return archive;
    }

    // One ustar member whose 12-byte size field is replaced, with the header checksum recomputed so the reader gets
    // as far as the size.
    private static byte[] WithSizeField(byte[] size)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream("[]"u8.ToArray()) });
        }

        var archive = output.ToArray();
        size.CopyTo(archive, 124);
        Array.Fill(archive, (byte)' ', 148, 8);
        var checksum = archive.AsSpan(0, 512).ToArray().Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(checksum, 8).PadLeft(6, '0') + "\0 ").CopyTo(archive, 148);
        return archive;
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.Build.Images.Packing;

/// <summary>
/// Writes a packed image's single layer: a tar in the entries' (ordinal) order with one fixed modification time,
/// gzip-compressed, and returns the digests a manifest and config need.
/// </summary>
/// <remarks>
/// Entries are ustar (no extended headers, so nothing but the entries themselves can vary) unless a path or link
/// target is longer than ustar's 100-byte name fields; those alone become PAX entries. zlib writes a gzip header
/// with no file name and mtime 0, so the same tree gives the same blob byte for byte.
/// </remarks>
internal static class LayerTarWriter
{
    private const int UstarNameLength = 100;

    public static (string DiffId, string Digest, long Size) Write(IEnumerable<RootfsEntry> entries, DateTimeOffset modificationTime, Stream output)
    {
        using var compressed = new DigestingWriteStream(output);
        string diffId;
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        using (var uncompressed = new DigestingWriteStream(gzip))
        {
            using (var tar = new TarWriter(uncompressed, leaveOpen: true))
            {
                foreach (var entry in entries)
                {
                    WriteEntry(tar, entry, modificationTime);
                }
            }

            diffId = uncompressed.Finish();
        }

        return (diffId, compressed.Finish(), compressed.Length);
    }

    private static void WriteEntry(TarWriter tar, RootfsEntry entry, DateTimeOffset modificationTime)
    {
        var (type, name) = entry.Kind switch
        {
            RootfsEntryKind.Directory => (TarEntryType.Directory, entry.Path + "/"),
            RootfsEntryKind.SymbolicLink => (TarEntryType.SymbolicLink, entry.Path),
            _ => (TarEntryType.RegularFile, entry.Path),
        };
        PosixTarEntry header = FitsUstar(name) && FitsUstar(entry.LinkTarget ?? "")
            ? new UstarTarEntry(type, name)
            : new PaxTarEntry(type, name);
        header.Mode = entry.Mode;
        header.Uid = (int)entry.Owner.Uid;
        header.Gid = (int)entry.Owner.Gid;
        header.ModificationTime = modificationTime;
        if (entry.LinkTarget is { } target)
        {
            header.LinkName = target;
        }

        if (entry.Kind != RootfsEntryKind.File)
        {
            tar.WriteEntry(header);
            return;
        }

        using var content = entry.OpenRead();
        header.DataStream = content;
        tar.WriteEntry(header);
    }

    // 100 bytes is what ustar's name and linkname fields hold without the prefix split, whose rules differ between writers.
    private static bool FitsUstar(string name) => Encoding.UTF8.GetByteCount(name) <= UstarNameLength;
}

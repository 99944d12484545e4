using System.Formats.Tar;
using System.Security.Cryptography;
using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images.Packing;

/// <summary>One file of an image's tree as a test compares it: kind, permission bits, link target and content digest.</summary>
internal sealed record PackedFile(string Kind, UnixFileMode Mode, string? LinkTarget, string? ContentSha256)
{
    public static string Digest(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}

/// <summary>A layer's entries, read through the image source's verified stream, with everything a tar header says.</summary>
internal sealed record PackedEntry(string Name, TarEntryType Type, UnixFileMode Mode, int Uid, int Gid, DateTimeOffset ModificationTime, string LinkName, byte[] Content)
{
    public static async Task<IReadOnlyList<PackedEntry>> ReadAsync(ImageLayer layer)
    {
        var entries = new List<PackedEntry>();
        await using var stream = await layer.OpenAsync();
        await using (var reader = new TarReader(stream, leaveOpen: true))
        {
            while (await reader.GetNextEntryAsync(copyData: true) is { } entry)
            {
                using var content = new MemoryStream();
                if (entry.DataStream is { } data)
                {
                    await data.CopyToAsync(content);
                }

                entries.Add(new PackedEntry(entry.Name, entry.EntryType, entry.Mode, entry.Uid, entry.Gid, entry.ModificationTime, entry.LinkName, content.ToArray()));
            }
        }

        // Read past the end-of-archive blocks so the blob digest and the diff_id are checked.
        await stream.CopyToAsync(Stream.Null);
        return entries;
    }

    /// <summary>The layer path without the trailing '/' of a directory.</summary>
    public string Path => Name.TrimEnd('/');

    public PackedFile ToFile() => Type switch
    {
        TarEntryType.Directory => new PackedFile("directory", Mode, null, null),
        // A link's own mode means nothing on Linux, and lstat and tar disagree on it.
        TarEntryType.SymbolicLink => new PackedFile("link", 0, LinkName, null),
        _ => new PackedFile("file", Mode, null, PackedFile.Digest(Content)),
    };
}

using System.Formats.Tar;

namespace Cloister.Build.Layers;

/// <summary>One path of the flattened root filesystem, as <c>docker export</c> would write its tar header.</summary>
public sealed class FlattenedEntry
{
    internal FlattenedEntry(string path, Inode inode, string? hardLinkTarget)
    {
        Path = path;
        Inode = inode;
        HardLinkTarget = hardLinkTarget;
    }

    /// <summary>The path relative to the root, components joined by <c>/</c>, without a trailing slash.</summary>
    public string Path { get; }

    /// <summary>
    /// <see cref="TarEntryType.RegularFile"/>, <see cref="TarEntryType.Directory"/>, <see cref="TarEntryType.SymbolicLink"/>,
    /// <see cref="TarEntryType.CharacterDevice"/>, <see cref="TarEntryType.BlockDevice"/>, <see cref="TarEntryType.Fifo"/>,
    /// or <see cref="TarEntryType.HardLink"/> for the second and later paths of one inode.
    /// </summary>
    public TarEntryType EntryType => HardLinkTarget is null ? Inode.Type : TarEntryType.HardLink;

    /// <summary>Permissions with the set-user-ID, set-group-ID and sticky bits.</summary>
    public UnixFileMode Mode => Inode.Mode;

    /// <summary>Owner user ID.</summary>
    public int Uid => Inode.Uid;

    /// <summary>Owner group ID.</summary>
    public int Gid => Inode.Gid;

    /// <summary>Modification time in whole seconds since the Unix epoch.</summary>
    public long ModificationTime => Inode.ModificationTime;

    /// <summary>Content length of a regular file (also of a hard link's inode); zero for other types.</summary>
    public long Length => Inode.Content.Length;

    /// <summary>The target of a symbolic link, or for a hard link the path that was exported first.</summary>
    public string? LinkName => HardLinkTarget ?? Inode.SymlinkTarget;

    /// <summary>Major number of a character or block device.</summary>
    public int DeviceMajor => Inode.DeviceMajor;

    /// <summary>Minor number of a character or block device.</summary>
    public int DeviceMinor => Inode.DeviceMinor;

    internal Inode Inode { get; }

    internal string? HardLinkTarget { get; }

    /// <summary>Opens the file's contents (empty for anything but regular files and hard links).</summary>
    /// <returns>A read-only, seekable stream of <see cref="Length"/> bytes.</returns>
    /// <exception cref="ObjectDisposedException">The flattener that produced this entry is disposed (on read).</exception>
    public Stream OpenRead() => Inode.Content.OpenRead();

    /// <inheritdoc/>
    public override string ToString() => $"{EntryType} {Path}";
}

namespace Cloister.Build.Cpio;

/// <summary>
/// One newc cpio entry. When writing, set the name, type, permissions, owner, time, device numbers and (for
/// regular files) the size, or the link target for symlinks; <see cref="CpioWriter"/> assigns the inode, link
/// count and device the way linuxkit does. When reading, every header field is filled in as stored.
/// </summary>
public sealed class CpioEntry
{
    /// <summary>The path inside the archive, as stored (linuxkit keeps a trailing '/' on Docker's directories).</summary>
    public required string Name { get; init; }

    /// <summary>The file type.</summary>
    public CpioEntryType Type { get; init; } = CpioEntryType.RegularFile;

    /// <summary>The permission bits, including setuid, setgid and sticky (<c>mode &amp; 07777</c>).</summary>
    public int Permissions { get; init; }

    /// <summary>The owner's user id.</summary>
    public uint Uid { get; init; }

    /// <summary>The owner's group id.</summary>
    public uint Gid { get; init; }

    /// <summary>The modification time in seconds since 1970-01-01 UTC.</summary>
    public uint ModificationTime { get; init; }

    /// <summary>The data size: the file's length, the UTF-8 length of a symlink's target, 0 otherwise.</summary>
    public long Size { get; init; }

    /// <summary>A symlink's target; null for other types.</summary>
    public string? LinkTarget { get; init; }

    /// <summary>The major number of a device entry.</summary>
    public uint RdevMajor { get; init; }

    /// <summary>The minor number of a device entry.</summary>
    public uint RdevMinor { get; init; }

    /// <summary>The inode number as stored (the writer assigns its own).</summary>
    public uint Inode { get; init; }

    /// <summary>The link count as stored (the writer assigns its own).</summary>
    public uint LinkCount { get; init; }

    /// <summary>The major number of the device holding the file, as stored (the writer assigns its own).</summary>
    public uint DevMajor { get; init; }

    /// <summary>The minor number of the device holding the file, as stored (the writer assigns its own).</summary>
    public uint DevMinor { get; init; }

    /// <summary>The file data of a regular file being read; valid until the reader moves to the next entry.</summary>
    public Stream? DataStream { get; internal set; }

    /// <summary>The full <c>c_mode</c>: permissions | type &lt;&lt; 12.</summary>
    public int Mode => Permissions | ((int)Type << 12);
}

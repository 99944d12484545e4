using System.Text;
using Cloister.Build.Cpio;
using Cloister.Build.Layers;

namespace Cloister.Build.Ramdisks;

/// <summary>
/// One entry of a ramdisk in write order: what a cpio newc writer needs for the header and the data that follows it.
/// Inode numbers, link counts and device 3:1 are the writer's business (§3.2), not the layout's.
/// </summary>
public sealed class RamdiskEntry
{
    private RamdiskEntry(
        string name, CpioEntryType type, UnixFileMode mode, int uid, int gid, long modificationTime, string? linkTarget, FileContent content)
    {
        Name = name;
        Type = type;
        Mode = mode;
        Uid = uid;
        Gid = gid;
        ModificationTime = modificationTime;
        LinkTarget = linkTarget;
        Content = content;
    }

    /// <summary>The name stored in the archive, e.g. <c>rootfs/etc/</c> (Docker's directories keep the slash) or <c>cmd</c>.</summary>
    public string Name { get; }

    /// <summary>The file type.</summary>
    public CpioEntryType Type { get; }

    /// <summary>Permission bits with set-user-ID, set-group-ID and sticky (the low 12 bits of the cpio mode).</summary>
    public UnixFileMode Mode { get; }

    /// <summary>Owner user ID.</summary>
    public int Uid { get; }

    /// <summary>Owner group ID.</summary>
    public int Gid { get; }

    /// <summary>Modification time in seconds since the Unix epoch.</summary>
    public long ModificationTime { get; }

    /// <summary>The target of a symbolic link; <see langword="null"/> for other types.</summary>
    public string? LinkTarget { get; }

    /// <summary>Major number (cpio <c>rdevmajor</c>) of a device; zero otherwise.</summary>
    public int DeviceMajor { get; private init; }

    /// <summary>Minor number (cpio <c>rdevminor</c>) of a device; zero otherwise.</summary>
    public int DeviceMinor { get; private init; }

    /// <summary>Length of the data after the header: the file's size, or the UTF-8 length of a link target.</summary>
    public long Size => Type switch
    {
        CpioEntryType.RegularFile => Content.Length,
        CpioEntryType.SymbolicLink => Encoding.UTF8.GetByteCount(LinkTarget!),
        _ => 0,
    };

    internal FileContent Content { get; }

    /// <summary>Creates a directory entry.</summary>
    /// <param name="name">The archive name.</param>
    /// <param name="mode">Permission bits.</param>
    /// <param name="uid">Owner user ID.</param>
    /// <param name="gid">Owner group ID.</param>
    /// <param name="modificationTime">Seconds since the Unix epoch.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or <paramref name="mode"/> has bits above 0o7777.</exception>
    public static RamdiskEntry Directory(string name, UnixFileMode mode, int uid, int gid, long modificationTime) =>
        new(Check(name, mode), CpioEntryType.Directory, mode, uid, gid, modificationTime, null, FileContent.Empty);

    /// <summary>Creates a regular file whose contents are <paramref name="content"/> (not copied: keep it unchanged).</summary>
    /// <param name="name">The archive name.</param>
    /// <param name="content">The file's bytes.</param>
    /// <param name="mode">Permission bits.</param>
    /// <param name="uid">Owner user ID.</param>
    /// <param name="gid">Owner group ID.</param>
    /// <param name="modificationTime">Seconds since the Unix epoch.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or <paramref name="mode"/> has bits above 0o7777.</exception>
    public static RamdiskEntry File(string name, ReadOnlyMemory<byte> content, UnixFileMode mode, int uid, int gid, long modificationTime) =>
        new(Check(name, mode), CpioEntryType.RegularFile, mode, uid, gid, modificationTime, null, new FileContent(content));

    /// <summary>Creates a symbolic link to <paramref name="target"/>.</summary>
    /// <param name="name">The archive name.</param>
    /// <param name="target">The link target, stored verbatim.</param>
    /// <param name="mode">Permission bits (cpio keeps them even though Linux ignores a link's mode).</param>
    /// <param name="uid">Owner user ID.</param>
    /// <param name="gid">Owner group ID.</param>
    /// <param name="modificationTime">Seconds since the Unix epoch.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="name"/> or <paramref name="target"/> is empty, or <paramref name="mode"/> has bits above 0o7777.
    /// </exception>
    public static RamdiskEntry SymbolicLink(string name, string target, UnixFileMode mode, int uid, int gid, long modificationTime)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        return new(Check(name, mode), CpioEntryType.SymbolicLink, mode, uid, gid, modificationTime, target, FileContent.Empty);
    }

    /// <summary>Opens the data that follows the header: the file's contents, or the link target in UTF-8.</summary>
    /// <returns>A read-only stream of <see cref="Size"/> bytes.</returns>
    /// <exception cref="ObjectDisposedException">The entry comes from a disposed <see cref="LayerFlattener"/> (on read).</exception>
    public Stream OpenRead() => Type == CpioEntryType.SymbolicLink
        ? new MemoryContentStream(Encoding.UTF8.GetBytes(LinkTarget!))
        : Content.OpenRead();

    /// <inheritdoc/>
    public override string ToString() => $"{Type} {Name}";

    /// <summary>The header <see cref="CpioWriter"/> writes for this entry.</summary>
    /// <exception cref="FormatException">The mtime or an owner ID does not fit cpio's unsigned 32-bit fields.</exception>
    internal CpioEntry ToCpioEntry() => new()
    {
        Name = Name,
        Type = Type,
        Permissions = (int)Mode,
        Uid = Unsigned(Uid, "uid"),
        Gid = Unsigned(Gid, "gid"),
        ModificationTime = Unsigned(ModificationTime, "mtime"),
        Size = Size,
        LinkTarget = LinkTarget,
        RdevMajor = Unsigned(DeviceMajor, "device major"),
        RdevMinor = Unsigned(DeviceMinor, "device minor"),
    };

    internal static RamdiskEntry FromImage(string name, CpioEntryType type, Inode inode, string? linkTarget, long modificationTime) =>
        new(name, type, inode.Mode, inode.Uid, inode.Gid, modificationTime, linkTarget, type == CpioEntryType.RegularFile ? inode.Content : FileContent.Empty)
        {
            DeviceMajor = inode.DeviceMajor,
            DeviceMinor = inode.DeviceMinor,
        };

    private uint Unsigned(long value, string field) => value is >= 0 and <= uint.MaxValue
        ? (uint)value
        : throw new FormatException($"{field} {value} of '{Name}' does not fit cpio's 32-bit field");

    private static string Check(string name, UnixFileMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (((int)mode & ~0xFFF) != 0)
        {
            throw new ArgumentException($"mode {(int)mode:x} has bits above 0o7777", nameof(mode));
        }

        return name;
    }
}

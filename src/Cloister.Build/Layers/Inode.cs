using System.Formats.Tar;

namespace Cloister.Build.Layers;

/// <summary>
/// What a path refers to. Hard-linked paths share one instance, so replacing or deleting a path never touches its
/// siblings — the behaviour of a real filesystem and of overlayfs' merged view.
/// </summary>
internal sealed class Inode
{
    public required TarEntryType Type { get; init; }

    public UnixFileMode Mode { get; set; }

    public int Uid { get; set; }

    public int Gid { get; set; }

    /// <summary>Seconds since the Unix epoch (tar and cpio resolution).</summary>
    public long ModificationTime { get; set; }

    public string? SymlinkTarget { get; init; }

    public int DeviceMajor { get; init; }

    public int DeviceMinor { get; init; }

    public FileContent Content { get; init; } = FileContent.Empty;

    /// <summary>How many paths were ever linked to this inode; above one, the export walk looks for hard links.</summary>
    public int LinkCount { get; set; } = 1;

    public bool IsDirectory => Type == TarEntryType.Directory;

    /// <summary>Takes a newer layer's mode, owner and mtime; a merged directory keeps its children.</summary>
    public void TakeMetadataFrom(Inode newer)
    {
        Mode = newer.Mode;
        Uid = newer.Uid;
        Gid = newer.Gid;
        ModificationTime = newer.ModificationTime;
    }
}

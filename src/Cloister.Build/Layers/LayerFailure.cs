namespace Cloister.Build.Layers;

/// <summary>Why a layer was refused; carried by <see cref="LayerException.Failure"/>.</summary>
public enum LayerFailure
{
    /// <summary>A name has a <c>..</c> component. Refused even when it would stay inside the root.</summary>
    PathTraversal,

    /// <summary>A name starts with <c>/</c>. Layers written by image builders are relative; an absolute name is refused, not re-rooted.</summary>
    AbsolutePath,

    /// <summary>A name is empty where one is needed, contains NUL, is a whiteout of nothing, or a symlink has an empty target.</summary>
    InvalidPath,

    /// <summary>A hard link's target is absolute or has a <c>..</c> component.</summary>
    HardLinkEscape,

    /// <summary>A hard link's target does not exist when the link is applied.</summary>
    HardLinkTargetMissing,

    /// <summary>A hard link's target is a directory.</summary>
    HardLinkToDirectory,

    /// <summary>A parent of the entry (or of a hard link's target) is a symbolic link: writing through it is a layer breakout.</summary>
    SymlinkInPath,

    /// <summary>A parent of the entry exists but is neither a directory nor a symbolic link.</summary>
    ParentNotDirectory,

    /// <summary>The same path appears twice in one layer.</summary>
    DuplicateEntry,

    /// <summary>A regular file is larger than <see cref="LayerFlattenerOptions.MaxFileSize"/>.</summary>
    FileTooLarge,

    /// <summary>The file contents of all layers together exceed <see cref="LayerFlattenerOptions.MaxTotalSize"/>.</summary>
    TotalSizeExceeded,

    /// <summary>The entry type (sparse, contiguous, multi-volume, aufs metadata, …) has no place in a root filesystem.</summary>
    UnsupportedEntryType,

    /// <summary>The tar stream ended inside a header or inside file data, or before its end-of-archive block.</summary>
    Truncated,

    /// <summary>
    /// A tar header is corrupt (checksum, number field, extended header), a metadata entry exceeds 1 MiB, or a zero
    /// block is followed by one that is not zero.
    /// </summary>
    MalformedArchive,
}

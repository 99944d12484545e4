namespace Cloister.Build.Ramdisks;

/// <summary>File types a ramdisk can hold; each value is the type nibble cpio stores in bits 12–15 of the mode.</summary>
public enum RamdiskEntryType
{
    /// <summary>FIFO (named pipe), <c>S_IFIFO</c>.</summary>
    Fifo = 0x1,

    /// <summary>Character device, <c>S_IFCHR</c>.</summary>
    CharacterDevice = 0x2,

    /// <summary>Directory, <c>S_IFDIR</c>.</summary>
    Directory = 0x4,

    /// <summary>Block device, <c>S_IFBLK</c>.</summary>
    BlockDevice = 0x6,

    /// <summary>Regular file, <c>S_IFREG</c>.</summary>
    RegularFile = 0x8,

    /// <summary>Symbolic link, <c>S_IFLNK</c>; its target is the entry's data.</summary>
    SymbolicLink = 0xA,
}

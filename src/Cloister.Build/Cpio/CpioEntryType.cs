namespace Cloister.Build.Cpio;

/// <summary>The file type in bits 12-15 of a newc <c>c_mode</c> (the <c>S_IFMT</c> value shifted down by 12).</summary>
public enum CpioEntryType
{
    /// <summary>A FIFO (<c>S_IFIFO</c>, 001).</summary>
    Fifo = 1,

    /// <summary>A character device (<c>S_IFCHR</c>, 002).</summary>
    CharacterDevice = 2,

    /// <summary>A directory (<c>S_IFDIR</c>, 004).</summary>
    Directory = 4,

    /// <summary>A block device (<c>S_IFBLK</c>, 006).</summary>
    BlockDevice = 6,

    /// <summary>A regular file (<c>S_IFREG</c>, 010).</summary>
    RegularFile = 8,

    /// <summary>A symbolic link (<c>S_IFLNK</c>, 012); its data is the link target.</summary>
    SymbolicLink = 10,

    /// <summary>A socket (<c>S_IFSOCK</c>, 014).</summary>
    Socket = 12,
}

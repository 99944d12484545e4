namespace Cloister.Build.Cpio;

/// <summary>The fixed layout of a newc ("070701") entry header shared by the reader and the writer.</summary>
internal static class NewcHeader
{
    /// <summary>Magic, then 13 fields of eight hex digits.</summary>
    public const int Size = 6 + (FieldCount * 8);

    public const int FieldCount = 13;

    public const string TrailerName = "TRAILER!!!";

    /// <summary>The field names in header order (after the magic), for error messages.</summary>
    public static readonly string[] FieldNames =
    [
        "c_ino", "c_mode", "c_uid", "c_gid", "c_nlink", "c_mtime", "c_filesize",
        "c_devmajor", "c_devminor", "c_rdevmajor", "c_rdevminor", "c_namesize", "c_check",
    ];

    public static ReadOnlySpan<byte> Magic => "070701"u8;

    /// <summary>The zero bytes that bring <paramref name="offset"/> to a multiple of four.</summary>
    public static int PaddingTo4(long offset) => (int)(-offset & 3);
}

namespace Cloister.Build.Cpio;

/// <summary>What was wrong with a malformed cpio archive; carried by <see cref="CpioFormatException"/>.</summary>
public enum CpioError
{
    /// <summary>An entry does not start with the newc magic <c>070701</c>.</summary>
    BadMagic,

    /// <summary>A header field is not eight hexadecimal digits.</summary>
    BadHexField,

    /// <summary>The file type in <c>c_mode</c> is not one cpio knows.</summary>
    UnknownFileType,

    /// <summary>A name is empty, lacks its NUL terminator or contains a NUL.</summary>
    BadName,

    /// <summary>A name is absolute or has a <c>..</c> component, so it could escape the extraction directory.</summary>
    UnsafePath,

    /// <summary>The archive ends inside an entry or before the trailer.</summary>
    Truncated,

    /// <summary>Non-zero bytes follow the trailer.</summary>
    TrailingData,
}

namespace Cloister.Build.Cpio;

/// <summary>A cpio archive is malformed; <see cref="Error"/> says how and <see cref="Offset"/> where.</summary>
public sealed class CpioFormatException : FormatException
{
    /// <summary>Creates the exception for a problem found at a byte offset of the archive.</summary>
    /// <param name="error">What was wrong.</param>
    /// <param name="offset">The byte offset in the archive of the field that was wrong.</param>
    /// <param name="detail">A sentence naming the field and the value seen.</param>
    public CpioFormatException(CpioError error, long offset, string detail)
        : base($"malformed cpio archive ({error}) at byte offset {offset}: {detail}")
    {
        Error = error;
        Offset = offset;
    }

    /// <summary>What was wrong.</summary>
    public CpioError Error { get; }

    /// <summary>The byte offset in the archive of the field that was wrong.</summary>
    public long Offset { get; }
}

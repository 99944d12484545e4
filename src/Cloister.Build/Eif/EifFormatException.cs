namespace Cloister.Build.Eif;

/// <summary>An enclave image file is malformed; <see cref="Error"/> says how and <see cref="Offset"/> where.</summary>
public sealed class EifFormatException : FormatException
{
    /// <summary>Creates the exception for a problem found at a byte offset of the file.</summary>
    /// <param name="error">What was wrong.</param>
    /// <param name="offset">The byte offset in the file of the field or section that was wrong.</param>
    /// <param name="detail">A sentence naming the field and the values seen.</param>
    /// <param name="inner">The exception that revealed the problem, if any.</param>
    public EifFormatException(EifError error, long offset, string detail, Exception? inner = null)
        : base($"malformed EIF ({error}) at byte offset {offset}: {detail}", inner)
    {
        Error = error;
        Offset = offset;
    }

    /// <summary>What was wrong.</summary>
    public EifError Error { get; }

    /// <summary>The byte offset in the file of the field or section that was wrong.</summary>
    public long Offset { get; }
}

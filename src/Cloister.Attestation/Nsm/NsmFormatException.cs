namespace Cloister.Attestation.Nsm;

/// <summary>An NSM request or response is not valid CBOR of the NSM's message grammar.</summary>
public sealed class NsmFormatException : FormatException
{
    /// <summary>Creates the exception for a fault in <paramref name="field"/> at byte <paramref name="offset"/>.</summary>
    /// <param name="message">What is wrong, naming the field and offset.</param>
    /// <param name="field">The field path, e.g. <c>ExtendPCR.data</c>; the variant name or <c>message</c> when no field applies.</param>
    /// <param name="offset">The byte offset in the message where the fault was detected.</param>
    /// <param name="innerException">The CBOR reader's exception, if it detected the fault.</param>
    public NsmFormatException(string message, string field, int offset, Exception? innerException = null)
        : base(message, innerException)
    {
        Field = field;
        Offset = offset;
    }

    /// <summary>The field path that was wrong, e.g. <c>ExtendPCR.data</c>.</summary>
    public string Field { get; }

    /// <summary>The byte offset in the message where the fault was detected.</summary>
    public int Offset { get; }
}

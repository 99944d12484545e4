namespace Cloister.Attestation.Documents;

/// <summary>
/// The bytes are not an attestation document: they are not a COSE_Sign1 of the shape the NSM emits, or the payload
/// breaks the CDDL of attestation_process.md §2.2 (types, keys, sizes).
/// </summary>
/// <remarks>
/// <see cref="Field"/> names what was wrong with a path such as <c>cose.protected</c>, <c>payload.pcrs[3]</c> or
/// <c>payload.cabundle[1]</c>, and <see cref="Offset"/> is the byte offset in the encoded COSE_Sign1 where the
/// decoder stood when it gave up (the start of the offending item, or the end of the input when it was truncated).
/// </remarks>
public class AttestationFormatException : FormatException
{
    /// <summary>Creates an exception for a field, with the reason and where it was found.</summary>
    /// <param name="field">The path of the offending field, e.g. <c>payload.nonce</c>.</param>
    /// <param name="offset">The byte offset in the COSE_Sign1, or <see langword="null"/> when unknown.</param>
    /// <param name="reason">What was wrong, without the field name.</param>
    /// <param name="innerException">The CBOR decoder's exception, if that is where the fault was found.</param>
    public AttestationFormatException(string field, long? offset, string reason, Exception? innerException = null)
        : base(Compose(field, offset, reason), innerException)
    {
        Field = field;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The path of the offending field, e.g. <c>payload.pcrs[3]</c> or <c>cose.signature</c>.</summary>
    public string Field { get; }

    /// <summary>The byte offset in the encoded COSE_Sign1, or <see langword="null"/> when unknown.</summary>
    public long? Offset { get; }

    /// <summary>What was wrong, without the field name or offset.</summary>
    public string Reason { get; }

    private static string Compose(string field, long? offset, string reason) =>
        offset is { } at ? $"{field}: {reason} (at byte {at})" : $"{field}: {reason}";
}

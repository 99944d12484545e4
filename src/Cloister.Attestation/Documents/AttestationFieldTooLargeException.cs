namespace Cloister.Attestation.Documents;

/// <summary>
/// A field is well formed but longer than the format allows: user_data, nonce or public_key over 1024 bytes, a
/// certificate over 1024 bytes, or a cabundle with more entries than any real chain has.
/// </summary>
/// <remarks>Kept apart from other format errors so a verifier can report it as its own reason.</remarks>
public sealed class AttestationFieldTooLargeException : AttestationFormatException
{
    /// <summary>Creates an exception for a field whose length exceeds its limit.</summary>
    /// <param name="field">The path of the offending field, e.g. <c>payload.user_data</c>.</param>
    /// <param name="offset">The byte offset of the field in the COSE_Sign1, or <see langword="null"/> when unknown.</param>
    /// <param name="length">The field's length (bytes, or entries for an array).</param>
    /// <param name="maxLength">The largest length the format allows.</param>
    public AttestationFieldTooLargeException(string field, long? offset, int length, int maxLength)
        : base(field, offset, $"{length} exceeds the limit of {maxLength}")
    {
        Length = length;
        MaxLength = maxLength;
    }

    /// <summary>The field's length: bytes for a byte string, entries for an array.</summary>
    public int Length { get; }

    /// <summary>The largest length the format allows for this field.</summary>
    public int MaxLength { get; }
}

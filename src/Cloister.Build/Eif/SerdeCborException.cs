namespace Cloister.Build.Eif;

/// <summary>
/// A serde_cbor value does not have the shape of its Rust struct. <see cref="Field"/> names where in the struct
/// (<c>signature[0].signing_certificate[7]</c>) and <see cref="Offset"/> is the byte offset in the encoded value.
/// </summary>
internal sealed class SerdeCborException(string field, long offset, string detail, Exception? inner = null)
    : FormatException($"{field} at CBOR byte {offset}: {detail}", inner)
{
    /// <summary>The field, as a path through the struct.</summary>
    public string Field { get; } = field;

    /// <summary>The byte offset of the field's value in the encoded bytes.</summary>
    public long Offset { get; } = offset;

    /// <summary>What was wrong with it.</summary>
    public string Detail { get; } = detail;
}

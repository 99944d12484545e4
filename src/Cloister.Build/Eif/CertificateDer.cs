using System.Formats.Asn1;

namespace Cloister.Build.Eif;

/// <summary>
/// Whether a certificate's bytes are the one DER encoding of their value: every element is read with the DER rules (minimal lengths,
/// minimal integers, zero BIT STRING padding, 0x00/0xFF booleans, DER times, sorted SET OF, no constructed strings),
/// written back with them, and the result must be the same bytes. <c>X509Certificate2</c> accepts BER and other
/// near-misses; a certificate that is not canonical DER has more than one hash, so PCR8 would depend on who re-encodes it.
/// </summary>
internal static class CertificateDer
{
    // Certificates nest about eight deep; a bound keeps hostile nesting from exhausting the stack.
    private const int MaxDepth = 32;

    /// <summary>Returns <see langword="null"/> when <paramref name="der"/> is one canonical DER value, else what is wrong.</summary>
    public static string? FindProblem(ReadOnlyMemory<byte> der)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            Copy(reader, writer, depth: 0);
            reader.ThrowIfNotEmpty();
        }
        catch (AsnContentException ex)
        {
            return $"it is not DER: {ex.Message}";
        }

        return writer.EncodedValueEquals(der.Span) ? null : "its DER does not re-encode to the same bytes";
    }

    private static void Copy(AsnReader reader, AsnWriter writer, int depth)
    {
        var tag = reader.PeekTag();
        if (!tag.IsConstructed)
        {
            var encoded = reader.PeekEncodedValue();
            ReadPrimitive(reader, tag);
            writer.WriteEncodedValue(encoded.Span);
            return;
        }

        if (depth == MaxDepth)
        {
            throw new AsnContentException($"it nests more than {MaxDepth} levels deep");
        }

        var isSet = tag.TagClass == TagClass.Universal && tag.TagValue == (int)UniversalTagNumber.Set;
        if (tag.TagClass == TagClass.Universal && !isSet && tag.TagValue != (int)UniversalTagNumber.Sequence)
        {
            throw new AsnContentException($"universal type {tag.TagValue} is in constructed form, which DER forbids");
        }

        var inner = isSet ? reader.ReadSetOf(tag) : reader.ReadSequence(tag);
        using (isSet ? writer.PushSetOf(tag) : writer.PushSequence(tag))
        {
            while (inner.HasData)
            {
                Copy(inner, writer, depth + 1);
            }
        }
    }

    // The typed readers enforce DER's rules for the content of each type; the rest is taken as it is.
    private static void ReadPrimitive(AsnReader reader, Asn1Tag tag)
    {
        if (tag.TagClass != TagClass.Universal)
        {
            reader.ReadEncodedValue();
            return;
        }

        switch ((UniversalTagNumber)tag.TagValue)
        {
            case UniversalTagNumber.Boolean:
                // In a certificate's structure the only BOOLEAN is an extension's critical flag, DEFAULT FALSE: DER omits it.
                if (!reader.ReadBoolean())
                {
                    throw new AsnContentException("it encodes a BOOLEAN FALSE, a DEFAULT value that DER omits");
                }

                break;
            case UniversalTagNumber.Integer: reader.ReadIntegerBytes(); break;
            case UniversalTagNumber.BitString: reader.ReadBitString(out _); break;
            case UniversalTagNumber.OctetString: reader.ReadOctetString(); break;
            case UniversalTagNumber.Null: reader.ReadNull(); break;
            case UniversalTagNumber.ObjectIdentifier: reader.ReadObjectIdentifier(); break;
            case UniversalTagNumber.UtcTime: reader.ReadUtcTime(); break;
            case UniversalTagNumber.GeneralizedTime: reader.ReadGeneralizedTime(); break;
            default: reader.ReadEncodedValue(); break;
        }
    }
}

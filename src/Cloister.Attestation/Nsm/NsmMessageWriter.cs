using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// Writes serde_cbor's externally tagged enum layout: a unit variant is its name as text, a struct variant is
/// <c>map(1){name: map{fields in declaration order}}</c>.
/// </summary>
internal static class NsmMessageWriter
{
    public static void WriteUnit(CborWriter writer, string variant) => writer.WriteTextString(variant);

    public static void WriteStructStart(CborWriter writer, string variant, int fieldCount)
    {
        writer.WriteStartMap(1);
        writer.WriteTextString(variant);
        writer.WriteStartMap(fieldCount);
    }

    public static void WriteStructEnd(CborWriter writer)
    {
        writer.WriteEndMap();
        writer.WriteEndMap();
    }

    public static void WriteUInt16Struct(CborWriter writer, string variant, string field, ushort value)
    {
        WriteStructStart(writer, variant, 1);
        writer.WriteTextString(field);
        writer.WriteUInt32(value);
        WriteStructEnd(writer);
    }

    public static void WriteByteStringStruct(CborWriter writer, string variant, string field, byte[] value)
    {
        WriteStructStart(writer, variant, 1);
        writer.WriteTextString(field);
        writer.WriteByteString(value);
        WriteStructEnd(writer);
    }

    public static void WriteOptionalByteString(CborWriter writer, byte[]? value)
    {
        if (value is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.WriteByteString(value);
        }
    }
}

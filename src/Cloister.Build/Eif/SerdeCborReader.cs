using System.Formats.Cbor;
using System.Numerics;

namespace Cloister.Build.Eif;

/// <summary>
/// A <see cref="CborReader"/> that is told, at each read, which field of the struct it is reading: whatever is wrong
/// (a CBOR error, a value out of range) becomes a <see cref="SerdeCborException"/> naming that field and its offset.
/// </summary>
internal sealed class SerdeCborReader(ReadOnlyMemory<byte> encoded)
{
    private readonly CborReader _reader = new(encoded, CborConformanceMode.Lax);

    /// <summary>The offset of the next value in the encoded bytes.</summary>
    public int Offset => encoded.Length - _reader.BytesRemaining;

    public CborReaderState Peek(string field) => Read(field, reader => reader.PeekState());

    public int? ReadStartArray(string field) => Read(field, reader => reader.ReadStartArray());

    public int? ReadStartMap(string field) => Read(field, reader => reader.ReadStartMap());

    public string ReadTextString(string field) => Read(field, reader => reader.ReadTextString());

    public int ReadInt32(string field) => Read(field, reader => reader.ReadInt32());

    public void ReadEndArray(string field) => Read(field, reader => reader.ReadEndArray());

    public void ReadEndMap(string field) => Read(field, reader => reader.ReadEndMap());

    public void SkipValue(string field) => Read(field, reader => reader.SkipValue());

    /// <summary>Whether an array or map of <paramref name="count"/> entries (null: indefinite) has another after <paramref name="read"/>.</summary>
    public bool HasMore(string field, int? count, int read) =>
        count is { } definite ? read < definite : Peek(field) is not (CborReaderState.EndArray or CborReaderState.EndMap);

    /// <summary>
    /// A serde_cbor <c>Vec&lt;u8&gt;</c>: an array of unsigned integers, each 0 to 255 (a byte string is accepted too).
    /// </summary>
    public byte[] ReadBytes(string field)
    {
        if (Peek(field) == CborReaderState.ByteString)
        {
            return Read(field, reader => reader.ReadByteString());
        }

        var count = ReadStartArray(field);
        // A declared length is only a claim: never reserve more than the bytes that could hold it.
        var bytes = new List<byte>(Math.Min(count ?? 0, _reader.BytesRemaining));
        for (var i = 0; HasMore(field, count, i); i++)
        {
            bytes.Add(ReadByte($"{field}[{i}]"));
        }

        ReadEndArray(field);
        return [.. bytes];
    }

    /// <summary>Throws unless the value read was the whole input.</summary>
    public void EnsureEnd(string field)
    {
        if (_reader.BytesRemaining != 0)
        {
            throw new SerdeCborException(field, Offset, $"{_reader.BytesRemaining} bytes follow the value");
        }
    }

    private byte ReadByte(string element)
    {
        var offset = Offset;
        switch (Peek(element))
        {
            case CborReaderState.UnsignedInteger:
                var value = Read(element, reader => reader.ReadUInt64());
                return value <= byte.MaxValue ? (byte)value : throw NotAByte(element, offset, value);
            case CborReaderState.NegativeInteger:
                // CBOR stores -1 - n; read n so that even -2^64 is named exactly.
                throw NotAByte(element, offset, -1 - (BigInteger)Read(element, reader => reader.ReadCborNegativeIntegerRepresentation()));
            case var state:
                throw new SerdeCborException(element, offset, $"is a CBOR {state}, not a byte (0 to 255)");
        }
    }

    private static SerdeCborException NotAByte(string element, int offset, BigInteger value) =>
        new(element, offset, $"is {value}, not a byte (0 to 255)");

    private void Read(string field, Action<CborReader> read) => Read<object?>(field, reader =>
    {
        read(reader);
        return null;
    });

    private T Read<T>(string field, Func<CborReader, T> read)
    {
        var offset = Offset;
        try
        {
            return read(_reader);
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or OverflowException)
        {
            throw new SerdeCborException(field, offset, ex.Message, ex);
        }
    }
}

using System.Formats.Cbor;
using System.Text;

namespace Cloister.Attestation.Documents;

/// <summary>
/// A <see cref="CborReader"/> that knows which field it is reading and where it stands in the whole input, so that
/// every fault, including the reader's own, becomes an <see cref="AttestationFormatException"/> naming both.
/// </summary>
internal sealed class CborCursor
{
    private readonly CborReader _reader;
    private readonly int _length;
    private readonly int _baseOffset;

    /// <param name="data">The CBOR item to read (one root value).</param>
    /// <param name="baseOffset">Where <paramref name="data"/> starts in the COSE_Sign1, for error offsets.</param>
    /// <param name="field">The field reported by errors until <see cref="Field"/> is changed.</param>
    public CborCursor(ReadOnlyMemory<byte> data, int baseOffset, string field)
    {
        // Lax: the NSM writes indefinite-length maps since 2025; duplicate keys are checked by the callers, which
        // can name the key.
        _reader = new CborReader(data, CborConformanceMode.Lax);
        _length = data.Length;
        _baseOffset = baseOffset;
        Field = field;
    }

    /// <summary>The field that errors name.</summary>
    public string Field { get; set; }

    /// <summary>The current position in the COSE_Sign1.</summary>
    public int Offset => _baseOffset + _length - _reader.BytesRemaining;

    public AttestationFormatException Fail(string reason, int? offset = null, Exception? inner = null) =>
        new(Field, offset ?? Offset, reason, inner);

    public AttestationFieldTooLargeException TooLarge(int length, int maxLength, int offset) =>
        new(Field, offset, length, maxLength);

    public CborReaderState Peek() => Guard(static r => r.PeekState());

    /// <summary>Whether a map or array opened with <paramref name="count"/> items has more after <paramref name="read"/>.</summary>
    public bool HasMoreItems(int? count, int read) =>
        count is { } definite ? read < definite : Peek() is not (CborReaderState.EndMap or CborReaderState.EndArray);

    public ReadOnlyMemory<byte> ReadBytes() => ReadBytes(out _);

    public ReadOnlyMemory<byte> ReadBytes(out int contentOffset)
    {
        Expect(CborReaderState.ByteString);
        var value = Guard(static r => r.ReadDefiniteLengthByteString());
        contentOffset = Offset - value.Length;
        return value;
    }

    /// <summary>Reads a byte string or <c>null</c>, at most <paramref name="maxLength"/> bytes long.</summary>
    public byte[]? ReadOptionalBytes(int maxLength)
    {
        if (Peek() == CborReaderState.Null)
        {
            Guard(static r => { r.ReadNull(); return 0; });
            return null;
        }

        return ReadBoundedBytes(0, maxLength);
    }

    public byte[] ReadBoundedBytes(int minLength, int maxLength)
    {
        var start = Offset;
        var value = ReadBytes();
        if (value.Length > maxLength)
        {
            throw TooLarge(value.Length, maxLength, start);
        }

        if (value.Length < minLength)
        {
            throw Fail($"is {value.Length} bytes; at least {minLength} required", start);
        }

        return value.ToArray();
    }

    /// <summary>Reads a definite-length text string as its raw bytes, which need not be valid UTF-8.</summary>
    public ReadOnlyMemory<byte> ReadTextBytes()
    {
        Expect(CborReaderState.TextString);
        return Guard(static r => r.ReadDefiniteLengthTextStringBytes());
    }

    /// <summary>
    /// Reads a text string of 1 to <paramref name="maxLength"/> printable ASCII characters (0x20–0x7E), the alphabet
    /// of the names the NSM writes. Checking the bytes rather than the decoded string matters: the lax reader turns
    /// invalid UTF-8 into U+FFFD, which would otherwise pass for text.
    /// </summary>
    public string ReadPrintableAscii(int maxLength)
    {
        var start = Offset;
        var value = ReadTextBytes().Span;
        if (value.Length > maxLength)
        {
            throw TooLarge(value.Length, maxLength, start);
        }

        if (value.IsEmpty)
        {
            throw Fail("is empty", start);
        }

        var bad = IndexOfNonPrintable(value);
        return bad < 0
            ? Encoding.ASCII.GetString(value)
            : throw Fail($"character {bad} is byte 0x{value[bad]:x2}; only printable ASCII (0x20–0x7E) is allowed", Offset - value.Length + bad);
    }

    public ulong ReadUInt64()
    {
        Expect(CborReaderState.UnsignedInteger);
        return Guard(static r => r.ReadUInt64());
    }

    public int ReadInt32()
    {
        var state = Peek();
        if (state is not (CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger))
        {
            throw Fail($"expected an integer, found {Describe(state)}");
        }

        return Guard(static r => r.ReadInt32());
    }

    public ulong ReadTag()
    {
        Expect(CborReaderState.Tag);
        return (ulong)Guard(static r => r.ReadTag());
    }

    /// <summary>The index of the first byte outside printable ASCII (0x20–0x7E), or -1.</summary>
    public static int IndexOfNonPrintable(ReadOnlySpan<byte> text) => text.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);

    public int? ReadStartMap()
    {
        Expect(CborReaderState.StartMap);
        return Guard(static r => r.ReadStartMap());
    }

    public void ReadEndMap() => Guard(static r => { r.ReadEndMap(); return 0; });

    public int? ReadStartArray()
    {
        Expect(CborReaderState.StartArray);
        return Guard(static r => r.ReadStartArray());
    }

    public void ReadEndArray() => Guard(static r => { r.ReadEndArray(); return 0; });

    /// <summary>Skips one well-formed value of the expected kind.</summary>
    public void Skip(CborReaderState expected)
    {
        Expect(expected);
        Guard(static r => { r.SkipValue(); return 0; });
    }

    /// <summary>Fails unless the root value has been read completely and nothing follows it.</summary>
    public void ExpectEnd(string what)
    {
        if (_reader.BytesRemaining > 0)
        {
            throw Fail($"{_reader.BytesRemaining} trailing bytes after {what}");
        }
    }

    private void Expect(CborReaderState expected)
    {
        var state = Peek();
        if (state != expected)
        {
            throw Fail($"expected {Describe(expected)}, found {Describe(state)}");
        }
    }

    private T Guard<T>(Func<CborReader, T> read)
    {
        var offset = Offset;
        try
        {
            return read(_reader);
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or DecoderFallbackException)
        {
            throw Fail($"not valid CBOR: {ex.Message}", offset, ex);
        }
        catch (OverflowException ex)
        {
            throw Fail("integer out of range", offset, ex);
        }
    }

    private static string Describe(CborReaderState state) => state switch
    {
        CborReaderState.ByteString => "a definite-length byte string",
        CborReaderState.StartIndefiniteLengthByteString => "an indefinite-length byte string",
        CborReaderState.TextString => "a text string",
        CborReaderState.StartIndefiniteLengthTextString => "an indefinite-length text string",
        CborReaderState.UnsignedInteger => "an unsigned integer",
        CborReaderState.NegativeInteger => "a negative integer",
        CborReaderState.StartArray => "an array",
        CborReaderState.EndArray => "the end of an array",
        CborReaderState.StartMap => "a map",
        CborReaderState.EndMap => "the end of a map",
        CborReaderState.Tag => "a tag",
        CborReaderState.Null => "null",
        CborReaderState.Undefined => "undefined",
        CborReaderState.Boolean => "a boolean",
        CborReaderState.SimpleValue => "a simple value",
        CborReaderState.HalfPrecisionFloat or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat => "a float",
        CborReaderState.Finished => "the end of the input",
        _ => state.ToString(),
    };
}

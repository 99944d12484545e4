using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// Reads serde_cbor's externally tagged enum layout as serde would: struct fields in any order, unknown keys
/// skipped, missing <c>Option</c> fields read as <see langword="null"/>; anything else is an
/// <see cref="NsmFormatException"/> that names the field and the byte offset.
/// </summary>
internal sealed class NsmMessageReader
{
    private readonly CborReader _reader;
    private readonly int _length;
    private string _variant = "message";
    private string _field = "message";
    private bool _variantHasValue;

    private NsmMessageReader(ReadOnlyMemory<byte> message)
    {
        // Strict is Lax plus what serde also refuses: invalid UTF-8 and duplicate keys.
        _reader = new CborReader(message, CborConformanceMode.Strict);
        _length = message.Length;
    }

    private int Offset => _length - _reader.BytesRemaining;

    /// <summary>Reads one whole message with <paramref name="readBody"/> and rejects trailing bytes.</summary>
    public static T Read<T>(ReadOnlyMemory<byte> message, Func<NsmMessageReader, T> readBody)
    {
        var reader = new NsmMessageReader(message);
        try
        {
            var value = readBody(reader);
            reader._field = "message";
            if (reader._reader.BytesRemaining != 0)
            {
                throw reader.Fail($"{reader._reader.BytesRemaining} trailing bytes after the message");
            }

            return value;
        }
        catch (CborContentException ex)
        {
            throw reader.Fail(ex.Message, ex);
        }
        catch (InvalidOperationException ex)
        {
            // CborReader.SkipValue reports the reserved initial bytes 0xfc–0xfe this way rather than as bad content.
            throw reader.Fail(ex.Message, ex);
        }
    }

    public NsmFormatException Fail(string problem, Exception? inner = null) =>
        new($"NSM message field '{_field}' at offset {Offset}: {problem}", _field, Offset, inner);

    /// <summary>Reads the enum tag: a bare text string (unit variant) or the single key of a one-entry map.</summary>
    public string ReadVariant()
    {
        _field = "variant";
        switch (_reader.PeekState())
        {
            case CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString:
                _variantHasValue = false;
                break;
            case CborReaderState.StartMap:
                var count = _reader.ReadStartMap();
                if (count is not (null or 1))
                {
                    throw Fail($"expected a map of exactly one entry (the variant), found {count} entries");
                }

                if (_reader.PeekState() is not (CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString))
                {
                    throw Fail($"expected the variant name as a text string, found {_reader.PeekState()}");
                }

                _variantHasValue = true;
                break;
            default:
                throw Fail($"expected a variant (a text string or a map of one entry), found {_reader.PeekState()}");
        }

        _variant = _reader.ReadTextString();
        _field = _variant;
        return _variant;
    }

    /// <summary>Reads the value of a unit variant: nothing for the bare name, <c>null</c> in the map form.</summary>
    public void ReadUnit()
    {
        if (_variantHasValue)
        {
            Expect(CborReaderState.Null, "null (the variant has no fields)");
            _reader.ReadNull();
            ReadVariantEnd();
        }
    }

    /// <summary>Reads the text value of a newtype variant whose inner type is a unit enum (<c>Error(ErrorCode)</c>).</summary>
    public string ReadNewtypeText()
    {
        RequireVariantValue();
        var value = ReadTextString();
        ReadVariantEnd();
        return value;
    }

    /// <summary>
    /// Reads a struct variant's fields in whatever order they come, each known one with its reader; keys that name
    /// no field are skipped with their values, as serde ignores unknown fields.
    /// </summary>
    public void ReadStruct(params ReadOnlySpan<(string Name, Action Read)> fields)
    {
        RequireVariantValue();
        Expect(CborReaderState.StartMap, "a map of fields");
        _reader.ReadStartMap();
        while (TryReadFieldName(out var name))
        {
            var known = false;
            foreach (var field in fields)
            {
                if (field.Name == name)
                {
                    field.Read();
                    known = true;
                    break;
                }
            }

            if (!known)
            {
                _reader.SkipValue();
            }
        }
    }

    public T Required<T>(T? value, string field)
        where T : struct => value ?? throw Missing(field);

    public T Required<T>(T? value, string field)
        where T : class => value ?? throw Missing(field);

    public ushort ReadUInt16()
    {
        Expect(CborReaderState.UnsignedInteger, "an unsigned integer");
        var value = _reader.ReadUInt64();
        return value <= ushort.MaxValue ? (ushort)value : throw Fail($"{value} does not fit in 16 bits");
    }

    public bool ReadBoolean()
    {
        Expect(CborReaderState.Boolean, "a boolean");
        return _reader.ReadBoolean();
    }

    public byte[] ReadByteString()
    {
        if (_reader.PeekState() is not (CborReaderState.ByteString or CborReaderState.StartIndefiniteLengthByteString))
        {
            throw Fail($"expected a byte string, found {_reader.PeekState()}");
        }

        return _reader.ReadByteString();
    }

    public byte[]? ReadOptionalByteString()
    {
        if (_reader.PeekState() == CborReaderState.Null)
        {
            _reader.ReadNull();
            return null;
        }

        return ReadByteString();
    }

    public string ReadTextString()
    {
        if (_reader.PeekState() is not (CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString))
        {
            throw Fail($"expected a text string, found {_reader.PeekState()}");
        }

        return _reader.ReadTextString();
    }

    public List<ushort> ReadUInt16Array()
    {
        Expect(CborReaderState.StartArray, "an array");
        var field = _field;
        var values = new List<ushort>(_reader.ReadStartArray() ?? 0);
        while (_reader.PeekState() != CborReaderState.EndArray)
        {
            _field = $"{field}[{values.Count}]";
            values.Add(ReadUInt16());
        }

        _reader.ReadEndArray();
        _field = field;
        return values;
    }

    /// <summary>Reads a struct variant whose only field is the u16 <paramref name="field"/>.</summary>
    public ushort ReadUInt16Struct(string field)
    {
        ushort? value = null;
        ReadStruct((field, () => value = ReadUInt16()));
        return Required(value, field);
    }

    /// <summary>Reads a struct variant whose only field is the byte string <paramref name="field"/>.</summary>
    public byte[] ReadByteStringStruct(string field)
    {
        byte[]? value = null;
        ReadStruct((field, () => value = ReadByteString()));
        return Required(value, field);
    }

    private NsmFormatException Missing(string field)
    {
        _field = _variant;
        return Fail($"missing field '{field}'");
    }

    /// <summary>Reads the next key that can name a field; false at the end of the struct.</summary>
    private bool TryReadFieldName(out string name)
    {
        while (true)
        {
            _field = _variant;
            var state = _reader.PeekState();
            if (state == CborReaderState.EndMap)
            {
                _reader.ReadEndMap();
                ReadVariantEnd();
                name = string.Empty;
                return false;
            }

            if (state is not (CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString))
            {
                // serde matches field names only; a key of another type can name no field, so it is skipped with its value.
                _reader.SkipValue();
                _reader.SkipValue();
                continue;
            }

            name = _reader.ReadTextString();
            _field = $"{_variant}.{name}";
            return true;
        }
    }

    private void RequireVariantValue()
    {
        if (!_variantHasValue)
        {
            throw Fail("expected the map form {variant: value}, found the bare variant name");
        }
    }

    private void ReadVariantEnd()
    {
        _field = _variant;
        if (_reader.PeekState() != CborReaderState.EndMap)
        {
            throw Fail("expected the end of the one-entry variant map");
        }

        _reader.ReadEndMap();
    }

    private void Expect(CborReaderState state, string what)
    {
        var actual = _reader.PeekState();
        if (actual != state)
        {
            throw Fail($"expected {what}, found {actual}");
        }
    }
}

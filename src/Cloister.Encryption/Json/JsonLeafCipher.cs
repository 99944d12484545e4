using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Cloister.Encryption.Ciphertexts;

namespace Cloister.Encryption.Json;

/// <summary>
/// Encrypts the leaves of a JSON document, keeping its shape (keys, arrays, nulls and the order of everything), and
/// decrypts every ciphertext string in one back to the value it was. Strings that are not ciphertexts pass through, so a
/// document may mix both. One pass of <see cref="Utf8JsonReader"/> into <see cref="Utf8JsonWriter"/>; nothing but the
/// output grows with the document.
/// </summary>
public static class JsonLeafCipher
{
    /// <summary>The deepest nesting read (the reader's own default).</summary>
    public const int MaxDepth = 64;

    /// <summary>Writes <paramref name="json"/> with its selected leaves encrypted by <paramref name="encryptor"/>.</summary>
    /// <param name="json">A UTF-8 JSON document (any value at the top).</param>
    /// <param name="encryptor">The encryptor: one per document.</param>
    /// <param name="leaves">Which leaves to encrypt.</param>
    /// <param name="output">Where the document goes (compact).</param>
    /// <exception cref="CiphertextException">The document does not parse (<see cref="CiphertextFailure.InvalidJson"/>, with the byte offset).</exception>
    public static void Encrypt(ReadOnlySpan<byte> json, LeafEncryptor encryptor, LeafSelection leaves, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(encryptor);
        Transform(json, output, new Encrypting(encryptor, leaves));
    }

    /// <summary>Writes <paramref name="json"/> with every ciphertext string decrypted to the value it was.</summary>
    /// <param name="json">A UTF-8 JSON document.</param>
    /// <param name="decryptor">The decryptor: one per document.</param>
    /// <param name="output">Where the document goes (compact).</param>
    /// <exception cref="CiphertextException">
    /// The document does not parse, or a ciphertext in it cannot be decrypted here; the message gives its byte offset.
    /// </exception>
    public static void Decrypt(ReadOnlySpan<byte> json, LeafDecryptor decryptor, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(decryptor);
        Transform(json, output, new Decrypting(decryptor));
    }

    // What each direction does with a value; a struct, so the walk is specialised for it and allocates no closure.
    private interface ILeafHandler
    {
        /// <summary>Writes the value the reader is on, transformed, and returns true; or returns false to have it copied.</summary>
        bool Handle(ref Utf8JsonReader reader, Utf8JsonWriter writer);
    }

    // The one walk both directions share: structure is copied, and each value is offered to the handler first.
    private static void Transform<THandler>(ReadOnlySpan<byte> json, IBufferWriter<byte> output, THandler handler)
        where THandler : struct, ILeafHandler
    {
        ArgumentNullException.ThrowIfNull(output);

        // The reader does not check the UTF-8 of strings it does not unescape, and the writer would replace bad bytes
        // with U+FFFD: a document that is not UTF-8 would come back silently changed.
        if (!Utf8.IsValid(json))
        {
            throw new CiphertextException(CiphertextFailure.InvalidJson, $"the body is not valid JSON at byte {InvalidUtf8Offset(json)}: it is not UTF-8");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { MaxDepth = MaxDepth, SkipValidation = true });
        try
        {
            while (reader.Read())
            {
                if (handler.Handle(ref reader, writer))
                {
                    continue;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: writer.WriteStartObject(); break;
                    case JsonTokenType.EndObject: writer.WriteEndObject(); break;
                    case JsonTokenType.StartArray: writer.WriteStartArray(); break;
                    case JsonTokenType.EndArray: writer.WriteEndArray(); break;
                    case JsonTokenType.PropertyName when reader.ValueIsEscaped: writer.WritePropertyName(reader.GetString()!); break;
                    case JsonTokenType.PropertyName: writer.WritePropertyName(reader.ValueSpan); break;
                    case JsonTokenType.String when reader.ValueIsEscaped: writer.WriteStringValue(reader.GetString()); break;
                    case JsonTokenType.String: writer.WriteStringValue(reader.ValueSpan); break;
                    case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                    case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                    case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                    case JsonTokenType.Null: writer.WriteNullValue(); break;
                }
            }

            if (reader.BytesConsumed == 0)
            {
                throw new CiphertextException(CiphertextFailure.InvalidJson, "the body is empty, not a JSON document");
            }
        }
        catch (JsonException ex)
        {
            throw new CiphertextException(CiphertextFailure.InvalidJson, $"the body is not valid JSON at byte {reader.BytesConsumed}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
        {
            // The reader checks an escaped string's surrogates only when it unescapes it (GetString, CopyString).
            throw new CiphertextException(CiphertextFailure.InvalidJson, $"the string at byte {reader.TokenStartIndex} is not valid JSON text: {ex.Message}", ex);
        }
    }

    private static void WriteEncrypted(Utf8JsonWriter writer, LeafEncryptor encryptor, ReadOnlySpan<byte> plaintext, PlaintextKind kind)
    {
        var length = encryptor.GetTextLength(plaintext.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        var written = encryptor.EncryptToText(plaintext, kind, rented);
        writer.WriteStringValue(rented.AsSpan(0, written));
        ArrayPool<byte>.Shared.Return(rented);
    }

    private static void WritePlaintext(Utf8JsonWriter writer, ReadOnlySpan<byte> plaintext, PlaintextKind kind, long offset)
    {
        switch (kind)
        {
            // The writer would put U+FFFD for bytes that are not UTF-8 rather than refuse them.
            case PlaintextKind.String when Utf8.IsValid(plaintext):
                writer.WriteStringValue(plaintext);
                break;
            case PlaintextKind.String:
                throw new CiphertextException(CiphertextFailure.WrongForm, $"the string at byte {offset} decrypts to bytes that are not UTF-8 text");
            case PlaintextKind.Number when IsJsonNumber(plaintext):
                writer.WriteRawValue(plaintext, skipInputValidation: true);
                break;
            case PlaintextKind.Number:
                throw new CiphertextException(CiphertextFailure.WrongForm, $"the string at byte {offset} decrypts to a number kind that is not a JSON number");
            case PlaintextKind.Boolean when plaintext.SequenceEqual("true"u8) || plaintext.SequenceEqual("false"u8):
                writer.WriteBooleanValue(plaintext.Length == 4);
                break;
            case PlaintextKind.Boolean:
                throw new CiphertextException(CiphertextFailure.WrongForm, $"the string at byte {offset} decrypts to a boolean kind that is not true or false");
            default:
                throw new CiphertextException(CiphertextFailure.WrongForm, $"the string at byte {offset} is a whole-body (bytes) ciphertext; decrypt it as application/octet-stream");
        }
    }

    private static bool IsJsonNumber(ReadOnlySpan<byte> text)
    {
        var number = new Utf8JsonReader(text);
        try
        {
            return number.Read() && number.TokenType == JsonTokenType.Number && number.BytesConsumed == text.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static int InvalidUtf8Offset(ReadOnlySpan<byte> text)
    {
        var at = 0;
        while (Rune.DecodeFromUtf8(text[at..], out _, out var length) == OperationStatus.Done)
        {
            at += length;
        }

        return at;
    }

    // A string's unescaped UTF-8: the value itself when it has no escapes, else a copy into a rented buffer.
    private static ReadOnlySpan<byte> Value(ref Utf8JsonReader reader, out byte[]? rented)
    {
        rented = null;
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        rented = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        return rented.AsSpan(0, reader.CopyString(rented));
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private readonly struct Encrypting(LeafEncryptor encryptor, LeafSelection leaves) : ILeafHandler
    {
        public bool Handle(ref Utf8JsonReader reader, Utf8JsonWriter writer)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    WriteEncrypted(writer, encryptor, Value(ref reader, out var rented), PlaintextKind.String);
                    Return(rented);
                    return true;
                case JsonTokenType.Number when leaves == LeafSelection.All:
                    WriteEncrypted(writer, encryptor, reader.ValueSpan, PlaintextKind.Number);
                    return true;
                case JsonTokenType.True or JsonTokenType.False when leaves == LeafSelection.All:
                    WriteEncrypted(writer, encryptor, reader.ValueSpan, PlaintextKind.Boolean);
                    return true;
                default:
                    return false;
            }
        }
    }

    private readonly struct Decrypting(LeafDecryptor decryptor) : ILeafHandler
    {
        public bool Handle(ref Utf8JsonReader reader, Utf8JsonWriter writer)
        {
            if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || !LeafDecryptor.IsCiphertextText(reader.ValueSpan))
            {
                return false;
            }

            var offset = reader.TokenStartIndex;
            var text = reader.ValueSpan;
            var capacity = LeafDecryptor.GetMaxPlaintextLengthOfText(text.Length);
            var plaintext = ArrayPool<byte>.Shared.Rent(capacity);
            try
            {
                int length;
                PlaintextKind kind;
                try
                {
                    length = decryptor.DecryptText(text, plaintext, out kind);
                }
                catch (CiphertextException ex)
                {
                    throw new CiphertextException(ex.Failure, $"the string at byte {offset}: {ex.Message}", ex);
                }

                WritePlaintext(writer, plaintext.AsSpan(0, length), kind, offset);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, capacity));
                ArrayPool<byte>.Shared.Return(plaintext);
            }

            return true;
        }
    }
}

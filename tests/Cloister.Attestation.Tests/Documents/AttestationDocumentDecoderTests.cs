using System.Formats.Cbor;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Tests.Editing;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Documents;

public sealed class AttestationDocumentDecoderTests
{
    private static readonly byte[] s_sample = AttestationVectors.Get("anjuna_2024-01-24_debug_full.cbor").Read();

    public static TheoryData<string> AllDocuments => [.. AttestationVectors.Real.Concat(AttestationVectors.MockRoot).Select(v => Path.GetFileName(v.File))];

    [Theory]
    [MemberData(nameof(AllDocuments))]
    public void Every_vector_decodes_to_the_manifest_values(string file)
    {
        var vector = AttestationVectors.Get(file);

        var signed = AttestationDocumentDecoder.Decode(vector.Read());

        var document = signed.Document;
        Assert.False(signed.IsTagged);
        Assert.Equal(-35, signed.Algorithm);
        Assert.Equal(96, signed.Signature.Length);
        Assert.Equal(vector.ModuleId, document.ModuleId);
        Assert.Equal("SHA384", document.Digest);
        Assert.Equal(vector.Timestamp, document.Timestamp);
        Assert.Equal(vector.Pcrs.OrderBy(p => p.Key), document.Pcrs.OrderBy(p => p.Key));
        Assert.Equal(vector.Nonce, document.Nonce);
        Assert.Equal(vector.UserData, document.UserData);
        Assert.Equal(vector.PublicKey, document.PublicKey);
        Assert.Equal(vector.IsDebug, document.IsDebugMode);
    }

    [Fact]
    public void Indefinite_length_payload_maps_decode_like_definite_ones()
    {
        var bytes = AttestationVectors.Get("unattributed_2026-02-02_prod_indef.cbor").Read();

        var signed = AttestationDocumentDecoder.Decode(bytes);

        Assert.Equal(0xBF, signed.Payload.Span[0]);
        Assert.Equal(16, signed.Document.Pcrs.Count);
    }

    [Fact]
    public void Seventeen_pcrs_and_an_empty_user_data_decode()
    {
        var signed = AttestationDocumentDecoder.Decode(AttestationVectors.Get("oyster_2025-04-29_prod_pcr16.cbor").Read());

        Assert.Equal(17, signed.Document.Pcrs.Count);
        Assert.Equal(0, signed.Document.UserData?.Length);
    }

    [Fact]
    public void Tag_18_is_accepted_and_reported()
    {
        var signed = AttestationDocumentDecoder.Decode([0xD2, .. s_sample]);

        Assert.True(signed.IsTagged);
        Assert.Equal(s_sample.Length + 1, signed.Encoded.Length);
        Assert.Equal(AttestationDocumentDecoder.Decode(s_sample).Document.ModuleId, signed.Document.ModuleId);
    }

    [Fact]
    public void Decoding_copies_the_input()
    {
        var bytes = s_sample.ToArray();
        var signed = AttestationDocumentDecoder.Decode(bytes);

        Array.Clear(bytes);

        Assert.Equal(s_sample, signed.Encoded.ToArray());
    }

    [Fact]
    public void Every_truncation_is_a_format_exception()
    {
        for (var length = 0; length < s_sample.Length; length++)
        {
            var ex = Record.Exception(() => AttestationDocumentDecoder.Decode(s_sample.AsSpan(0, length)));

            Assert.True(ex is AttestationFormatException, $"truncated to {length} bytes: {ex?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void A_truncated_payload_names_the_field_and_offset()
    {
        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(s_sample.AsSpan(0, 3000)));

        Assert.StartsWith("cose", ex.Field, StringComparison.Ordinal);
        Assert.NotNull(ex.Offset);
        Assert.Contains(ex.Field, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { }, "cose")]
    [InlineData(new byte[] { 0x18 }, "cose")]
    [InlineData(new byte[] { 0x18, 0x2A }, "cose")]
    [InlineData(new byte[] { 0xA0 }, "cose")]
    [InlineData(new byte[] { 0xFF, 0xFF }, "cose")]
    [InlineData(new byte[] { 0x1C }, "cose")]
    [InlineData(new byte[] { 0x68, 0x65, 0x6C, 0x6C, 0x6F }, "cose")]
    [InlineData(new byte[] { 0x83, 0x40, 0xA0, 0x40 }, "cose")]
    [InlineData(new byte[] { 0x9F, 0x40, 0xA0, 0x40, 0x40, 0xFF }, "cose")]
    [InlineData(new byte[] { 0x84, 0x01, 0x02, 0x03, 0x04 }, "cose.protected")]
    [InlineData(new byte[] { 0x84, 0x40, 0x40, 0x40, 0x40 }, "cose.unprotected")]
    [InlineData(new byte[] { 0x84, 0x40, 0xA0, 0x40, 0x40 }, "payload")]
    [InlineData(new byte[] { 0x84, 0x40, 0xA0, 0x41, 0xA0, 0x40 }, "payload")]
    [InlineData(new byte[] { 0xC1, 0x84, 0x40, 0xA0, 0x40, 0x40 }, "cose")]
    public void Garbage_is_rejected_naming_the_field(byte[] bytes, string field)
    {
        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void Random_bytes_are_rejected()
    {
        var random = new Random(20261124);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);

            var ex = Record.Exception(() => AttestationDocumentDecoder.Decode(bytes));

            Assert.True(ex is AttestationFormatException, $"{Convert.ToHexString(bytes)}: {ex?.GetType().Name ?? "accepted"}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode([.. s_sample, 0x00]));

        Assert.Equal("cose", ex.Field);
        Assert.Contains("trailing", ex.Message, StringComparison.Ordinal);
        Assert.Equal(s_sample.Length, ex.Offset);
    }

    [Fact]
    public void Trailing_bytes_inside_the_payload_are_rejected()
    {
        var edit = CoseEdit.Of(s_sample);
        var payload = edit.Payload();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(Rewrap([.. payload, 0xF6])));

        Assert.Equal("payload", ex.Field);
    }

    [Fact]
    public void A_protected_header_with_more_than_alg_is_rejected()
    {
        var bytes = CoseEdit.Of(s_sample).WithProtectedHeader([0xA2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00]).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Equal("cose.protected", ex.Field);
        // 84 | 47 | a2 01 38 22 | 04: the stray label is the seventh byte.
        Assert.Equal(6, ex.Offset);
    }

    [Fact]
    public void An_empty_protected_header_has_no_algorithm()
    {
        var signed = AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).WithProtectedHeader([]).ToCose());

        Assert.Null(signed.Algorithm);
    }

    [Theory]
    [InlineData("module_id")]
    [InlineData("digest")]
    [InlineData("timestamp")]
    [InlineData("pcrs")]
    [InlineData("certificate")]
    [InlineData("cabundle")]
    [InlineData("public_key")]
    [InlineData("user_data")]
    [InlineData("nonce")]
    public void A_missing_key_is_named(string key)
    {
        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Remove(key).ToCose()));

        Assert.Equal("payload", ex.Field);
        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_key_is_named()
    {
        var bytes = CoseEdit.Of(s_sample).Append("nonce", w => w.WriteNull()).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Contains("duplicate key 'nonce'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_is_named()
    {
        var bytes = CoseEdit.Of(s_sample).Append("debug", w => w.WriteBoolean(true)).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Contains("unknown key 'debug'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_is_quoted_only_when_short_and_printable()
    {
        var hostile = CoseEdit.Of(s_sample).Append("x\u001b[31m\n", w => w.WriteNull()).ToCose();
        var longKey = CoseEdit.Of(s_sample).Append(new string('k', 33), w => w.WriteNull()).ToCose();

        var hostileEx = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(hostile));
        var longEx = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(longKey));

        Assert.Contains("unknown key of 7 bytes that are not a short printable ASCII name", hostileEx.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', hostileEx.Message);
        Assert.Contains("unknown key of 33 bytes", longEx.Message, StringComparison.Ordinal);
    }

    /// <summary>module_id bytes, and the index of the first byte to refuse.</summary>
    public static TheoryData<byte[], int> UnprintableModuleIds => new()
    {
        { [.. "i-0abc"u8, 0xFF, 0xFE], 6 },          // invalid UTF-8, which a lax reader shows as U+FFFD
        { [.. "a\0b\nc\u001b[31m"u8], 1 },          // NUL, LF and a terminal escape
        { [.. "i-0\u001b[2J"u8], 3 },                // a terminal escape that clears the screen
        { [.. "i-0\u007f"u8], 3 },                   // DEL
        { [.. "i-é"u8], 2 },                         // valid UTF-8, but not what AWS writes
    };

    [Theory]
    [MemberData(nameof(UnprintableModuleIds))]
    public void A_module_id_that_is_not_printable_ascii_is_refused_at_its_first_bad_byte(byte[] moduleId, int badIndex)
    {
        var bytes = CoseEdit.Of(s_sample).SetRawText("module_id", moduleId).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Equal("payload.module_id", ex.Field);
        Assert.Contains($"character {badIndex} is byte 0x{moduleId[badIndex]:x2}", ex.Reason, StringComparison.Ordinal);
        Assert.Equal(moduleId[badIndex], bytes[(int)ex.Offset!.Value]);
    }

    [Fact]
    public void A_module_id_of_256_bytes_fits_and_longer_ones_or_an_empty_one_are_refused()
    {
        var longest = new string('i', AttestationDocumentDecoder.MaxModuleIdLength);

        var fits = AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("module_id", w => w.WriteTextString(longest)).ToCose());
        var tooLong = Assert.Throws<AttestationFieldTooLargeException>(
            () => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("module_id", w => w.WriteTextString(longest + "i")).ToCose()));
        var megabyte = Assert.Throws<AttestationFieldTooLargeException>(
            () => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("module_id", w => w.WriteTextString(new string('i', 1 << 20))).ToCose()));
        var empty = Assert.Throws<AttestationFormatException>(
            () => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("module_id", w => w.WriteTextString("")).ToCose()));

        Assert.Equal(longest, fits.Document.ModuleId);
        Assert.Equal(("payload.module_id", 257, 256), (tooLong.Field, tooLong.Length, tooLong.MaxLength));
        Assert.Equal(1 << 20, megabyte.Length);
        Assert.Equal(("payload.module_id", "is empty"), (empty.Field, empty.Reason));
    }

    [Fact]
    public void The_digest_is_held_to_the_same_alphabet_and_a_short_bound()
    {
        var escape = CoseEdit.Of(s_sample).SetRawText("digest", [.. "SHA\u001b[0m"u8]).ToCose();
        var tooLong = CoseEdit.Of(s_sample).Set("digest", w => w.WriteTextString(new string('S', AttestationDocumentDecoder.MaxDigestLength + 1))).ToCose();
        var other = CoseEdit.Of(s_sample).Set("digest", w => w.WriteTextString("SHA512")).ToCose();

        Assert.Equal("payload.digest", Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(escape)).Field);
        Assert.Equal("payload.digest", Assert.Throws<AttestationFieldTooLargeException>(() => AttestationDocumentDecoder.Decode(tooLong)).Field);
        Assert.Equal("SHA512", AttestationDocumentDecoder.Decode(other).Document.Digest);
    }

    [Theory]
    [InlineData("module_id", "payload.module_id")]
    [InlineData("digest", "payload.digest")]
    [InlineData("timestamp", "payload.timestamp")]
    [InlineData("pcrs", "payload.pcrs")]
    [InlineData("certificate", "payload.certificate")]
    [InlineData("cabundle", "payload.cabundle")]
    [InlineData("nonce", "payload.nonce")]
    public void A_value_of_the_wrong_type_is_named(string key, string field)
    {
        var bytes = CoseEdit.Of(s_sample).Set(key, w => w.WriteBoolean(false)).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Equal(field, ex.Field);
        Assert.Contains("found a boolean", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_mandatory_field_is_rejected()
    {
        var ex = Assert.Throws<AttestationFormatException>(
            () => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("certificate", w => w.WriteNull()).ToCose()));

        Assert.Equal("payload.certificate", ex.Field);
    }

    [Fact]
    public void A_zero_timestamp_is_rejected()
    {
        var ex = Assert.Throws<AttestationFormatException>(
            () => AttestationDocumentDecoder.Decode(CoseEdit.Of(s_sample).Set("timestamp", w => w.WriteUInt64(0)).ToCose()));

        Assert.Equal("payload.timestamp", ex.Field);
    }

    [Theory]
    [InlineData(3, 47, "payload.pcrs[3]")]
    [InlineData(3, 0, "payload.pcrs[3]")]
    [InlineData(32, 48, "payload.pcrs")]
    public void A_bad_pcr_is_named(int index, int length, string field)
    {
        var bytes = CoseEdit.Of(s_sample).Set("pcrs", w =>
        {
            w.WriteStartMap(2);
            w.WriteInt32(0);
            w.WriteByteString(new byte[48]);
            w.WriteInt32(index);
            w.WriteByteString(new byte[length]);
            w.WriteEndMap();
        }).ToCose();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(bytes));

        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void A_pcr_map_declaring_33_entries_is_rejected_before_reading_them()
    {
        var payload = CoseEdit.Of(s_sample).Payload();
        var at = payload.AsSpan().IndexOf("dpcrs"u8) + 5;
        Assert.Equal(0xB0, payload[at]);
        byte[] patched = [.. payload[..at], 0xB8, 0x21, .. payload[(at + 1)..]];

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(Rewrap(patched)));

        Assert.Equal("payload.pcrs", ex.Field);
        Assert.Contains("holds 33 entries", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void Pcrs_of_32_and_64_bytes_are_accepted(int length)
    {
        var bytes = CoseEdit.Of(s_sample).Set("pcrs", w =>
        {
            w.WriteStartMap(null);
            w.WriteInt32(31);
            w.WriteByteString(new byte[length]);
            w.WriteEndMap();
        }).ToCose();

        Assert.Equal(length, AttestationDocumentDecoder.Decode(bytes).Document.Pcrs[31].Length);
    }

    [Fact]
    public void Empty_pcrs_and_duplicate_pcr_indices_are_rejected()
    {
        var empty = CoseEdit.Of(s_sample).Set("pcrs", w => { w.WriteStartMap(0); w.WriteEndMap(); }).ToCose();
        var duplicate = CoseEdit.Of(s_sample).Set("pcrs", w =>
        {
            w.WriteStartMap(2);
            w.WriteInt32(1);
            w.WriteByteString(new byte[48]);
            w.WriteInt32(1);
            w.WriteByteString(new byte[48]);
            w.WriteEndMap();
        }).ToCose();

        Assert.Contains("no PCRs", Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(empty)).Message, StringComparison.Ordinal);
        Assert.Contains("duplicate PCR index 1", Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(duplicate)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public_key")]
    [InlineData("user_data")]
    [InlineData("nonce")]
    public void Optional_fields_of_1025_bytes_are_too_large_and_1024_fit(string key)
    {
        var tooLarge = CoseEdit.Of(s_sample).SetBytes(key, new byte[1025]).ToCose();
        var fits = CoseEdit.Of(s_sample).SetBytes(key, new byte[1024]).ToCose();

        var ex = Assert.Throws<AttestationFieldTooLargeException>(() => AttestationDocumentDecoder.Decode(tooLarge));

        Assert.Equal($"payload.{key}", ex.Field);
        Assert.Equal(1025, ex.Length);
        Assert.Equal(1024, ex.MaxLength);
        AttestationDocumentDecoder.Decode(fits);
    }

    [Fact]
    public void Cabundle_must_hold_certificates_of_1_to_1024_bytes()
    {
        var empty = CoseEdit.Of(s_sample).SetCaBundle([]).ToCose();
        var emptyEntry = CoseEdit.Of(s_sample).SetCaBundle([[0x30], []]).ToCose();
        var oversized = CoseEdit.Of(s_sample).SetCaBundle([[0x30], new byte[1025]]).ToCose();
        var tooMany = CoseEdit.Of(s_sample).SetCaBundle(Enumerable.Repeat(new byte[] { 0x30 }, 9)).ToCose();

        Assert.Equal("payload.cabundle", Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(empty)).Field);
        Assert.Equal("payload.cabundle[1]", Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(emptyEntry)).Field);
        Assert.Equal("payload.cabundle[1]", Assert.Throws<AttestationFieldTooLargeException>(() => AttestationDocumentDecoder.Decode(oversized)).Field);
        Assert.Equal("payload.cabundle", Assert.Throws<AttestationFieldTooLargeException>(() => AttestationDocumentDecoder.Decode(tooMany)).Field);
    }

    [Fact]
    public void A_payload_that_is_not_a_map_is_rejected()
    {
        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(Rewrap([0x80])));

        Assert.Equal("payload", ex.Field);
        Assert.Contains("expected a map, found an array", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_indefinite_length_envelope_byte_string_is_rejected()
    {
        var writer = new CborWriter(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
        writer.WriteStartArray(4);
        writer.WriteByteString([0xA1, 0x01, 0x38, 0x22]);
        writer.WriteStartMap(0);
        writer.WriteEndMap();
        writer.WriteStartIndefiniteLengthByteString();
        writer.WriteByteString(CoseEdit.Of(s_sample).Payload());
        writer.WriteEndIndefiniteLengthByteString();
        writer.WriteByteString(new byte[96]);
        writer.WriteEndArray();

        var ex = Assert.Throws<AttestationFormatException>(() => AttestationDocumentDecoder.Decode(writer.Encode()));

        Assert.Equal("cose.payload", ex.Field);
    }

    private static byte[] Rewrap(byte[] payload) => CoseEnvelope.Untagged([0xA1, 0x01, 0x38, 0x22], payload, new byte[96]);
}

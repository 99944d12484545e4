using System.Formats.Cbor;
using Cloister.Attestation.Nsm;

namespace Cloister.Attestation.Tests.Nsm;

/// <summary>Decoding is as lenient as serde (order, unknown keys, indefinite lengths) and rejects everything else.</summary>
public sealed class NsmCodecDecodingTests
{
    public static TheoryData<string, bool> TruncationSubjects => new()
    {
        { Hex(new ExtendPcrRequest(16, [1, 2, 3])), true },
        { Hex(new AttestationRequest([1, 2], null, new byte[300])), true },
        { Hex(DescribeNsmRequest.Instance), true },
        { Hex(new DescribeNsmResponse(1, 0, 0, "i-0123456789abcdef0-enc0123456789abcdef", 32, [0, 1, 2, 15, 16], NsmDigest.Sha384)), false },
        { Hex(new DescribePcrResponse(true, new byte[48])), false },
        { Hex(new AttestationResponse(new byte[300])), false },
        { Hex(new NsmErrorResponse(NsmErrorCode.ReadOnlyIndex)), false },
    };

    [Theory]
    [MemberData(nameof(TruncationSubjects))]
    public void Truncation_at_every_offset_is_a_format_exception(string hex, bool isRequest)
    {
        var message = Convert.FromHexString(hex);
        for (var length = 0; length < message.Length; length++)
        {
            var truncated = message.AsMemory(0, length);

            var thrown = Record.Exception(() => Decode(truncated, isRequest));

            Assert.True(thrown is NsmFormatException, $"length {length}: {thrown?.GetType().Name ?? "no exception"}");
        }
    }

    [Theory]
    [MemberData(nameof(TruncationSubjects))]
    public void Trailing_bytes_are_rejected(string hex, bool isRequest)
    {
        var message = Convert.FromHexString(hex + "00");

        var thrown = Assert.Throws<NsmFormatException>(() => Decode(message, isRequest));

        Assert.Equal("message", thrown.Field);
        Assert.Equal(message.Length - 1, thrown.Offset);
        Assert.Contains("trailing", thrown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TruncationSubjects))]
    public void Corrupted_bytes_decode_or_are_a_format_exception_never_anything_else(string hex, bool isRequest)
    {
        var original = Convert.FromHexString(hex);
        var random = new Random(20261124);
        for (var trial = 0; trial < 2000; trial++)
        {
            var corrupted = (byte[])original.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                corrupted[random.Next(corrupted.Length)] = (byte)random.Next(256);
            }

            var thrown = Record.Exception(() => Decode(corrupted, isRequest));

            Assert.True(thrown is null or NsmFormatException, $"{Convert.ToHexStringLower(corrupted)}: {thrown}");
        }
    }

    [Fact]
    public void Deeply_nested_unknown_fields_are_a_format_exception()
    {
        // {"DescribePCR": {"deep": [[[…0…]]] nested 100 deep, "index": 1}}
        byte[] bytes = [.. Convert.FromHexString("a16b4465736372696265504352a26464656570"), .. Enumerable.Repeat((byte)0x81, 100), 0x00, .. Convert.FromHexString("65696e64657801")];

        var thrown = Assert.Throws<NsmFormatException>(() => NsmCodec.DecodeRequest(bytes));

        Assert.Equal("DescribePCR.deep", thrown.Field);
    }

    [Fact]
    public void A_reserved_initial_byte_in_an_unknown_field_is_a_format_exception()
    {
        var bytes = Convert.FromHexString("a169457874656e64504352a265696e64657810fe6461746143010203");

        var thrown = Assert.Throws<NsmFormatException>(() => NsmCodec.DecodeRequest(bytes));

        Assert.Equal("ExtendPCR", thrown.Field);
    }

    [Fact]
    public void Fields_are_accepted_in_any_order()
    {
        var bytes = Struct("ExtendPCR", w =>
        {
            w.WriteTextString("data");
            w.WriteByteString([7]);
            w.WriteTextString("index");
            w.WriteUInt32(17);
        });

        var request = Assert.IsType<ExtendPcrRequest>(NsmCodec.DecodeRequest(bytes));

        Assert.Equal(17, request.Index);
        Assert.Equal(new byte[] { 7 }, request.Data);
    }

    [Fact]
    public void Unknown_keys_of_any_type_are_ignored()
    {
        var bytes = Struct("DescribePCR", w =>
        {
            w.WriteTextString("future");
            w.WriteStartArray(2);
            w.WriteInt32(-1);
            w.WriteStartMap(1);
            w.WriteTextString("x");
            w.WriteNull();
            w.WriteEndMap();
            w.WriteEndArray();
            w.WriteInt32(7);
            w.WriteTextString("integer key");
            w.WriteTextString("index");
            w.WriteUInt32(3);
        });

        Assert.Equal(3, Assert.IsType<DescribePcrRequest>(NsmCodec.DecodeRequest(bytes)).Index);
    }

    [Fact]
    public void Indefinite_lengths_and_long_integer_encodings_are_accepted()
    {
        // {_ "ExtendPCR": {_ "index": 0x0010 as uint32, "data": (_ h'01', h'0203')}}
        var bytes = Convert.FromHexString("bf69457874656e64504352bf65696e6465781a0000001064646174615f4101420203ffffff");

        var request = Assert.IsType<ExtendPcrRequest>(NsmCodec.DecodeRequest(bytes));

        Assert.Equal(16, request.Index);
        Assert.Equal(new byte[] { 1, 2, 3 }, request.Data);
    }

    [Fact]
    public void Missing_option_fields_read_as_null()
    {
        var bytes = Struct("Attestation", w =>
        {
            w.WriteTextString("nonce");
            w.WriteByteString([5]);
        });

        var request = Assert.IsType<AttestationRequest>(NsmCodec.DecodeRequest(bytes));

        Assert.Null(request.UserData);
        Assert.Equal(new byte[] { 5 }, request.Nonce);
        Assert.Null(request.PublicKey);
    }

    [Fact]
    public void A_unit_variant_in_map_form_with_null_is_accepted_as_serde_does()
    {
        var bytes = Convert.FromHexString("a16b44657363726962654e534df6");

        Assert.IsType<DescribeNsmRequest>(NsmCodec.DecodeRequest(bytes));
    }

    public static TheoryData<string, bool, string, string> Malformed => new()
    {
        // hex, whether it is a request, field named by the exception, words in its message
        { "a16b4465736372696265504352a165696e6465786130", true, "DescribePCR.index", "unsigned integer" },
        { "a16b4465736372696265504352a165696e646578381f", true, "DescribePCR.index", "unsigned integer" },
        { "a16b4465736372696265504352a165696e6465781a00010000", true, "DescribePCR.index", "16 bits" },
        { "a169457874656e64504352a265696e646578106464617461630102ff", true, "ExtendPCR.data", "byte string" },
        { "a169457874656e64504352a265696e646578106464617461820102", true, "ExtendPCR.data", "byte string" },
        { "a169457874656e64504352a165696e64657810", true, "ExtendPCR", "missing field 'data'" },
        { "a169457874656e64504352a365696e64657810646461746140646461746140", true, "ExtendPCR", "duplicate keys" },
        { "6b4465736372696265504352", true, "DescribePCR", "bare variant name" },
        { "a16b4465736372696265504352f6", true, "DescribePCR", "map of fields" },
        { "a16b44657363726962654e534d00", true, "DescribeNSM", "null" },
        { "63466f6f", true, "Foo", "unknown request" },
        { "a263466f6ff663426172f6", true, "variant", "one entry" },
        { "a0", true, "variant", "one entry" },
        { "bfff", true, "variant", "text string" },
        { "01", true, "variant", "text string or a map" },
        { "a16b4174746573746174696f6ea169757365725f6461746101", true, "Attestation.user_data", "byte string" },
        { "bf6b44657363726962654e534df663466f6ff6ff", true, "DescribeNSM", "end of the one-entry variant map" },
        { "a1654572726f72684e6f7441436f6465", false, "Error", "unknown error code 'NotACode'" },
        { "a1654572726f726133", false, "Error", "unknown error code '3'" },
        // Digits that name no code: Enum.TryParse takes them, and the fuzzer found they crashed the reader (nsm-response, 2026-12-07).
        { "a1654572726f7263383132", false, "Error", "unknown error code '812'" },
        { "654572726f72", false, "Error", "bare variant name" },
        { "a16b4465736372696265504352a2646c6f636b01646461746140", false, "DescribePCR.lock", "boolean" },
        { "a16b44657363726962654e534da166646967657374664d44352d3132", false, "DescribeNSM.digest", "unknown digest" },
        { "a16b44657363726962654e534da16b6c6f636b65645f7063727382006130", false, "DescribeNSM.locked_pcrs[1]", "unsigned integer" },
        { "a16b44657363726962654e534da16b6c6f636b65645f7063727301", false, "DescribeNSM.locked_pcrs", "array" },
        { "a16947657452616e646f6da0", false, "GetRandom", "missing field 'random'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_messages_name_the_field(string hex, bool isRequest, string field, string words)
    {
        var thrown = Assert.Throws<NsmFormatException>(() => Decode(Convert.FromHexString(hex), isRequest));

        Assert.Equal(field, thrown.Field);
        Assert.Contains(words, thrown.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_response_variant_is_not_a_request()
    {
        var thrown = Assert.Throws<NsmFormatException>(() => NsmCodec.DecodeRequest(NsmCodec.Encode(new NsmErrorResponse(NsmErrorCode.InvalidIndex))));

        Assert.Contains("unknown request 'Error'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_cbor_is_a_format_exception_with_an_offset()
    {
        // A text string announcing 11 bytes of invalid UTF-8.
        var bytes = Convert.FromHexString("6bffffffffffffffffffffff");

        var thrown = Assert.Throws<NsmFormatException>(() => NsmCodec.DecodeRequest(bytes));

        Assert.Equal("variant", thrown.Field);
        Assert.IsType<CborContentException>(thrown.InnerException);
    }

    private static string Hex(NsmMessage message) => Convert.ToHexStringLower(NsmCodec.Encode(message));

    private static NsmMessage Decode(ReadOnlyMemory<byte> message, bool isRequest) =>
        isRequest ? NsmCodec.DecodeRequest(message) : NsmCodec.DecodeResponse(message);

    private static byte[] Struct(string variant, Action<CborWriter> writeFields)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(1);
        writer.WriteTextString(variant);
        writer.WriteStartMap(null);
        writeFields(writer);
        writer.WriteEndMap();
        writer.WriteEndMap();
        return writer.Encode();
    }
}

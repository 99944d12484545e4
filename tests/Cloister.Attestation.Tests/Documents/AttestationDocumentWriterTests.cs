using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using Cloister.Attestation.Documents;

namespace Cloister.Attestation.Tests.Documents;

public sealed class AttestationDocumentWriterTests
{
    private static readonly DateTimeOffset s_time = DateTimeOffset.FromUnixTimeMilliseconds(1_767_472_825_123);

    private static AttestationDocument Sample(byte[]? userData = null, byte[]? nonce = null, byte[]? publicKey = null) => new(
        "i-0123456789abcdef0-enc0123456789abcdef",
        "SHA384",
        s_time,
        Enumerable.Range(0, 16).ToDictionary(i => i, i => Enumerable.Repeat((byte)i, 48).ToArray()),
        [1, 2, 3],
        [[4, 5], [6]],
        publicKey,
        userData,
        nonce);

    [Fact]
    public void Envelope_is_an_untagged_es384_cose_sign1_like_the_nsm_emits()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var cose = AttestationDocumentWriter.Write(Sample(), key);

        Assert.Equal(new byte[] { 0x84, 0x44, 0xA1, 0x01, 0x38, 0x22, 0xA0 }, cose[..7]);
        var message = CoseSign1Message.DecodeSign1(cose);
        Assert.True(message.VerifyEmbedded(key));
        var reader = new CborReader(cose, CborConformanceMode.Lax);
        reader.ReadStartArray();
        reader.SkipValue();
        reader.SkipValue();
        reader.SkipValue();
        Assert.Equal(96, reader.ReadByteString().Length);
    }

    [Fact]
    public void Another_key_does_not_verify_the_signature()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var message = CoseSign1Message.DecodeSign1(AttestationDocumentWriter.Write(Sample(), key));

        Assert.False(message.VerifyEmbedded(other));
    }

    [Theory]
    [InlineData(true, 0xBF)]
    [InlineData(false, 0xA9)]
    public void Payload_map_is_definite_or_indefinite_as_asked(bool indefinite, byte first)
    {
        var payload = AttestationDocumentWriter.EncodePayload(Sample(), indefinite);

        Assert.Equal(first, payload[0]);
        Assert.Equal(indefinite, payload[^1] == 0xFF);
    }

    [Fact]
    public void Payload_has_the_nine_keys_in_nsm_order_with_nulls_for_unset_fields()
    {
        var payload = AttestationDocumentWriter.EncodePayload(Sample(userData: []), indefiniteLengthMap: false);

        var reader = new CborReader(payload);
        Assert.Equal(9, reader.ReadStartMap());
        var keys = new List<string>();
        var values = new Dictionary<string, CborReaderState>();
        for (var i = 0; i < 9; i++)
        {
            var key = reader.ReadTextString();
            keys.Add(key);
            values[key] = reader.PeekState();
            if (key == "timestamp")
            {
                // The NSM always writes the 8-byte form: 1b followed by the milliseconds.
                var encoded = reader.ReadEncodedValue().ToArray();
                Assert.Equal(0x1B, encoded[0]);
                Assert.Equal(9, encoded.Length);
                Assert.Equal((ulong)s_time.ToUnixTimeMilliseconds(), System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(encoded.AsSpan(1)));
            }
            else
            {
                reader.SkipValue();
            }
        }

        Assert.Equal(
            ["module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce"],
            keys);
        Assert.Equal(CborReaderState.Null, values["public_key"]);
        Assert.Equal(CborReaderState.ByteString, values["user_data"]);
        Assert.Equal(CborReaderState.Null, values["nonce"]);
    }

    [Fact]
    public void Pcrs_are_written_in_ascending_index_order()
    {
        var pcrs = new Dictionary<int, byte[]> { [16] = new byte[48], [2] = new byte[48], [0] = new byte[48] };
        var document = new AttestationDocument("m", "SHA384", s_time, pcrs, [1], [[2]]);

        var reader = new CborReader(AttestationDocumentWriter.EncodePayload(document, indefiniteLengthMap: false));
        reader.ReadStartMap();
        while (reader.ReadTextString() != "pcrs")
        {
            reader.SkipValue();
        }

        Assert.Equal(3, reader.ReadStartMap());
        var order = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            order.Add(reader.ReadInt64());
            reader.SkipValue();
        }

        Assert.Equal([0L, 2L, 16L], order);
    }

    [Fact]
    public void Fields_larger_than_the_nsm_accepts_are_refused()
    {
        var ok = AttestationDocumentWriter.EncodePayload(Sample(userData: new byte[1024], nonce: new byte[1024], publicKey: new byte[1024]));
        Assert.NotEmpty(ok);

        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.EncodePayload(Sample(nonce: new byte[1025])));
        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.EncodePayload(Sample(userData: new byte[1025])));
        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.EncodePayload(Sample(publicKey: new byte[1025])));
    }

    [Fact]
    public void Pcr_indexes_outside_the_bank_and_empty_banks_are_refused()
    {
        var outside = new AttestationDocument("m", "SHA384", s_time, new Dictionary<int, byte[]> { [32] = new byte[48] }, [1], [[2]]);
        var empty = new AttestationDocument("m", "SHA384", s_time, new Dictionary<int, byte[]>(), [1], [[2]]);

        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.EncodePayload(outside));
        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.EncodePayload(empty));
    }

    [Fact]
    public void Keys_other_than_p384_are_refused()
    {
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.Throws<ArgumentException>(() => AttestationDocumentWriter.Sign([1], p256));
    }
}

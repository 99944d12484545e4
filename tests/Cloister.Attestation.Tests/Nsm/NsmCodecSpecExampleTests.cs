using Cloister.Attestation.Nsm;

namespace Cloister.Attestation.Tests.Nsm;

/// <summary>The byte examples of reference/eif-nsm-spec.md §5.2, encoded and decoded.</summary>
public sealed class NsmCodecSpecExampleTests
{
    public static TheoryData<string, NsmMessage> Examples => new()
    {
        { "a16b4465736372696265504352a165696e64657800", new DescribePcrRequest(0) },
        { "a169457874656e64504352a265696e64657810646461746143010203", new ExtendPcrRequest(16, [1, 2, 3]) },
        { "674c6f636b504352", LockPcrResponse.Instance },
        { "a1684c6f636b50435273a16572616e67651820", new LockPcrsRequest(32) },
        { "6b44657363726962654e534d", DescribeNsmRequest.Instance },
        { "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6", new AttestationRequest() },
        { "6947657452616e646f6d", GetRandomRequest.Instance },
        { "a1654572726f726c496e76616c6964496e646578", new NsmErrorResponse(NsmErrorCode.InvalidIndex) },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Encoding_matches_the_spec_byte_for_byte(string hex, NsmMessage message)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(NsmCodec.Encode(message)));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decoding_the_spec_bytes_gives_the_message_back(string hex, NsmMessage message)
    {
        var bytes = Convert.FromHexString(hex);

        NsmMessage decoded = message is NsmRequest ? NsmCodec.DecodeRequest(bytes) : NsmCodec.DecodeResponse(bytes);

        Assert.IsType(message.GetType(), decoded);
        Assert.Equal(bytes, NsmCodec.Encode(decoded));
    }

    [Fact]
    public void Spec_examples_decode_to_their_field_values()
    {
        var describe = Assert.IsType<DescribePcrRequest>(NsmCodec.DecodeRequest(Convert.FromHexString("a16b4465736372696265504352a165696e64657800")));
        var extend = Assert.IsType<ExtendPcrRequest>(NsmCodec.DecodeRequest(Convert.FromHexString("a169457874656e64504352a265696e64657810646461746143010203")));
        var lockRange = Assert.IsType<LockPcrsRequest>(NsmCodec.DecodeRequest(Convert.FromHexString("a1684c6f636b50435273a16572616e67651820")));
        var attestation = Assert.IsType<AttestationRequest>(NsmCodec.DecodeRequest(Convert.FromHexString(
            "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6")));
        var error = Assert.IsType<NsmErrorResponse>(NsmCodec.DecodeResponse(Convert.FromHexString("a1654572726f726c496e76616c6964496e646578")));

        Assert.Equal(0, describe.Index);
        Assert.Equal(16, extend.Index);
        Assert.Equal(new byte[] { 1, 2, 3 }, extend.Data);
        Assert.Equal(32, lockRange.Range);
        Assert.Null(attestation.UserData);
        Assert.Null(attestation.Nonce);
        Assert.Null(attestation.PublicKey);
        Assert.Equal(NsmErrorCode.InvalidIndex, error.Code);
    }

    [Fact]
    public void Every_error_code_travels_as_its_name()
    {
        foreach (var code in Enum.GetValues<NsmErrorCode>())
        {
            var encoded = NsmCodec.Encode(new NsmErrorResponse(code));
            var name = System.Text.Encoding.ASCII.GetString(encoded.AsSpan(encoded.Length - code.ToString().Length));

            Assert.Equal(code.ToString(), name);
            Assert.Equal(code, Assert.IsType<NsmErrorResponse>(NsmCodec.DecodeResponse(encoded)).Code);
        }
    }
}

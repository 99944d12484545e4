using Cloister.Attestation.Nsm;

namespace Cloister.Attestation.Tests.Nsm;

public sealed class NsmCodecRoundTripTests
{
    private static readonly byte[] s_pcr = [.. Enumerable.Range(0, 48).Select(i => (byte)(i * 7))];

    public static TheoryData<NsmMessage> Requests => new()
    {
        new DescribePcrRequest(31),
        new DescribePcrRequest(ushort.MaxValue),
        new ExtendPcrRequest(16, new byte[300]),
        new ExtendPcrRequest(17, []),
        new LockPcrRequest(20),
        new LockPcrsRequest(0),
        new LockPcrsRequest(1000),
        DescribeNsmRequest.Instance,
        new AttestationRequest([1], null, null),
        new AttestationRequest(null, new byte[1024], null),
        new AttestationRequest([], [9, 9], new byte[1024]),
        GetRandomRequest.Instance,
    };

    public static TheoryData<NsmMessage> Responses => new()
    {
        new DescribePcrResponse(true, s_pcr),
        new DescribePcrResponse(false, new byte[48]),
        new ExtendPcrResponse(s_pcr),
        LockPcrResponse.Instance,
        LockPcrsResponse.Instance,
        new DescribeNsmResponse(1, 0, 0, "i-0123456789abcdef0-enc0123456789abcdef", 32, [.. Enumerable.Range(0, 16).Select(i => (ushort)i)], NsmDigest.Sha384),
        new DescribeNsmResponse(2, 300, 65535, "", 64, [], NsmDigest.Sha512),
        new AttestationResponse(new byte[7000]),
        new GetRandomResponse(new byte[256]),
        new NsmErrorResponse(NsmErrorCode.InternalError),
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Requests_round_trip(NsmMessage request)
    {
        var encoded = NsmCodec.Encode(request);

        var decoded = NsmCodec.DecodeRequest(encoded);

        Assert.IsType(request.GetType(), decoded);
        Assert.Equal(encoded, NsmCodec.Encode(decoded));
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void Responses_round_trip(NsmMessage response)
    {
        var encoded = NsmCodec.Encode(response);

        var decoded = NsmCodec.DecodeResponse(encoded);

        Assert.IsType(response.GetType(), decoded);
        Assert.Equal(encoded, NsmCodec.Encode(decoded));
    }

    [Fact]
    public void Attestation_request_fields_come_back_in_their_places()
    {
        var decoded = Assert.IsType<AttestationRequest>(NsmCodec.DecodeRequest(NsmCodec.Encode(new AttestationRequest([1], [2, 2], [3, 3, 3]))));

        Assert.Equal(new byte[] { 1 }, decoded.UserData);
        Assert.Equal(new byte[] { 2, 2 }, decoded.Nonce);
        Assert.Equal(new byte[] { 3, 3, 3 }, decoded.PublicKey);
    }

    [Fact]
    public void Describe_nsm_response_fields_come_back_and_locked_pcrs_are_a_sorted_set()
    {
        var response = new DescribeNsmResponse(1, 2, 3, "module", 32, [5, 1, 5, 0], NsmDigest.Sha256);

        var decoded = Assert.IsType<DescribeNsmResponse>(NsmCodec.DecodeResponse(NsmCodec.Encode(response)));

        Assert.Equal((1, 2, 3), (decoded.VersionMajor, decoded.VersionMinor, decoded.VersionPatch));
        Assert.Equal("module", decoded.ModuleId);
        Assert.Equal(32, decoded.MaxPcrs);
        Assert.Equal(new ushort[] { 0, 1, 5 }, decoded.LockedPcrs);
        Assert.Equal(NsmDigest.Sha256, decoded.Digest);
    }

    [Fact]
    public void Describe_nsm_response_writes_fields_in_declaration_order()
    {
        var encoded = NsmCodec.Encode(new DescribeNsmResponse(1, 0, 0, "m", 32, [0, 1], NsmDigest.Sha384));

        Assert.Equal(
            "a16b44657363726962654e534d" + "a7"
            + "6d76657273696f6e5f6d616a6f72" + "01"
            + "6d76657273696f6e5f6d696e6f72" + "00"
            + "6d76657273696f6e5f7061746368" + "00"
            + "696d6f64756c655f6964" + "616d"
            + "686d61785f70637273" + "1820"
            + "6b6c6f636b65645f70637273" + "820001"
            + "66646967657374" + "66534841333834",
            Convert.ToHexStringLower(encoded));
    }

    [Fact]
    public void Describe_pcr_response_writes_lock_then_data()
    {
        var encoded = NsmCodec.Encode(new DescribePcrResponse(true, [0xAA]));

        Assert.Equal("a16b4465736372696265504352a2646c6f636bf564646174614" + "1aa", Convert.ToHexStringLower(encoded));
    }

    [Fact]
    public void Try_encode_reports_a_short_destination_and_fills_a_long_enough_one()
    {
        var message = new ExtendPcrRequest(16, [1, 2, 3]);
        var expected = NsmCodec.Encode(message);
        var buffer = new byte[NsmCodec.ResponseBufferLength];

        Assert.False(NsmCodec.TryEncode(message, buffer.AsSpan(0, expected.Length - 1), out _));
        Assert.True(NsmCodec.TryEncode(message, buffer, out var written));
        Assert.Equal(expected, buffer[..written]);
    }
}

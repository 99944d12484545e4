using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;

namespace Cloister.Attestation.Tests.Simulation;

/// <summary>The byte-level interface, as the simulator serves it on the NSM socket.</summary>
public sealed class SoftwareNsmRawTests : IClassFixture<SimulatedRootFixture>
{
    private readonly SimulatedNitroRoot _root;

    public SoftwareNsmRawTests(SimulatedRootFixture fixture) => _root = fixture.Root;

    [Fact]
    public void Spec_request_bytes_get_device_response_bytes()
    {
        using var nsm = new SoftwareNsm(_root);

        var extended = nsm.ProcessRequest(Convert.FromHexString("a169457874656e64504352a265696e64657810646461746143010203"));
        var locked = nsm.ProcessRequest(Convert.FromHexString("a1684c6f636b50435273a16572616e67651820"));
        var refused = nsm.ProcessRequest(Convert.FromHexString("a16b4465736372696265504352a165696e6465781820"));

        Assert.Equal(
            "a169457874656e64504352a16464617461" + "5830"
            + "cb178fcd3f328244c05c6248723fd068b3a1dda878e1ab8be911098f199958add55d0c27f04826d27b44d949a650694e",
            Convert.ToHexStringLower(extended));
        Assert.Equal("684c6f636b50435273", Convert.ToHexStringLower(locked));
        Assert.Equal("a1654572726f726c496e76616c6964496e646578", Convert.ToHexStringLower(refused));
    }

    [Fact]
    public void A_request_over_4096_bytes_is_input_too_large()
    {
        using var nsm = new SoftwareNsm(_root);
        var request = NsmCodec.Encode(new ExtendPcrRequest(16, new byte[4096]));

        var response = NsmCodec.DecodeResponse(nsm.ProcessRequest(request));

        Assert.Equal(NsmErrorCode.InputTooLarge, Assert.IsType<NsmErrorResponse>(response).Code);
        Assert.True(Assert.IsType<DescribePcrResponse>(nsm.Process(new DescribePcrRequest(16))).Data.All(b => b == 0));
    }

    [Fact]
    public void A_request_of_exactly_4096_bytes_is_served()
    {
        using var nsm = new SoftwareNsm(_root);
        var overhead = NsmCodec.Encode(new ExtendPcrRequest(16, new byte[4000])).Length - 4000;
        var request = NsmCodec.Encode(new ExtendPcrRequest(16, new byte[NsmCodec.MaxRequestLength - overhead]));

        Assert.Equal(NsmCodec.MaxRequestLength, request.Length);
        Assert.IsType<ExtendPcrResponse>(NsmCodec.DecodeResponse(nsm.ProcessRequest(request)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ff")]
    [InlineData("63466f6f")]
    [InlineData("a16b4465736372696265504352a165696e6465786130")]
    [InlineData("a169457874656e64504352a265696e646578106464617461")]
    [InlineData("6b44657363726962654e534d00")]
    [InlineData("a1654572726f726c496e76616c6964496e646578")]
    public void Malformed_or_unknown_requests_are_invalid_operation(string hex)
    {
        using var nsm = new SoftwareNsm(_root);

        var response = nsm.ProcessRequest(Convert.FromHexString(hex));

        Assert.Equal("a1654572726f7270496e76616c69644f7065726174696f6e", Convert.ToHexStringLower(response));
    }

    [Fact]
    public void Corrupted_requests_always_get_a_well_formed_response()
    {
        using var nsm = new SoftwareNsm(_root);
        byte[][] originals =
        [
            NsmCodec.Encode(new ExtendPcrRequest(16, [1, 2, 3])),
            NsmCodec.Encode(new AttestationRequest([1], [2], null)),
            NsmCodec.Encode(new LockPcrsRequest(20)),
        ];
        var random = new Random(42);

        for (var trial = 0; trial < 600; trial++)
        {
            var request = (byte[])originals[trial % originals.Length].Clone();
            request[random.Next(request.Length)] = (byte)random.Next(256);

            var response = nsm.ProcessRequest(request);

            Assert.IsAssignableFrom<NsmResponse>(NsmCodec.DecodeResponse(response));
        }
    }

    [Fact]
    public void Several_nsms_may_share_one_root_concurrently()
    {
        var documents = new byte[8][];

        Parallel.For(0, documents.Length, i =>
        {
            using var nsm = new SoftwareNsm(_root);
            documents[i] = Assert.IsType<AttestationResponse>(nsm.Process(new AttestationRequest())).Document;
        });

        Assert.All(documents, document => Assert.True(DecodedDocument.Decode(document).ChainBuildsTo(_root.Certificate)));
    }

    [Fact]
    public void Every_request_kind_is_answered_with_its_response_kind()
    {
        using var nsm = new SoftwareNsm(_root);
        (NsmRequest Request, Type Response)[] exchanges =
        [
            (new DescribePcrRequest(1), typeof(DescribePcrResponse)),
            (new ExtendPcrRequest(16, [1]), typeof(ExtendPcrResponse)),
            (new LockPcrRequest(16), typeof(LockPcrResponse)),
            (new LockPcrsRequest(16), typeof(LockPcrsResponse)),
            (DescribeNsmRequest.Instance, typeof(DescribeNsmResponse)),
            (new AttestationRequest(), typeof(AttestationResponse)),
            (GetRandomRequest.Instance, typeof(GetRandomResponse)),
        ];

        foreach (var (request, responseType) in exchanges)
        {
            var response = nsm.ProcessRequest(NsmCodec.Encode(request));

            Assert.True(response.Length <= NsmCodec.ResponseBufferLength);
            Assert.IsType(responseType, NsmCodec.DecodeResponse(response));
        }
    }
}

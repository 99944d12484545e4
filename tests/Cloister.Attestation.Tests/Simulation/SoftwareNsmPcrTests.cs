using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;

namespace Cloister.Attestation.Tests.Simulation;

public sealed class SoftwareNsmPcrTests : IClassFixture<SimulatedRootFixture>
{
    private readonly SimulatedNitroRoot _root;

    public SoftwareNsmPcrTests(SimulatedRootFixture fixture) => _root = fixture.Root;

    [Fact]
    public void Extend_is_sha384_of_old_value_and_data_as_in_the_spec_example()
    {
        using var nsm = new SoftwareNsm(_root);

        var response = Assert.IsType<ExtendPcrResponse>(nsm.Process(new ExtendPcrRequest(16, [1, 2, 3])));

        Assert.Equal(
            "cb178fcd3f328244c05c6248723fd068b3a1dda878e1ab8be911098f199958add55d0c27f04826d27b44d949a650694e",
            Convert.ToHexStringLower(response.Data));
        Assert.Equal(response.Data, Describe(nsm, 16).Data);
    }

    [Fact]
    public void A_second_extend_chains_on_the_first()
    {
        using var nsm = new SoftwareNsm(_root);
        var first = Assert.IsType<ExtendPcrResponse>(nsm.Process(new ExtendPcrRequest(20, [1, 2, 3]))).Data;

        var second = Assert.IsType<ExtendPcrResponse>(nsm.Process(new ExtendPcrRequest(20, [4]))).Data;

        Assert.Equal(SHA384.HashData([.. first, 4]), second);
    }

    [Fact]
    public void At_boot_pcrs_0_to_15_are_locked_and_16_to_31_are_unlocked_zeros()
    {
        using var nsm = new SoftwareNsm(_root, new SoftwareNsmOptions { ParentInstanceId = "i-1234567890abcdef0" });

        for (ushort i = 0; i < 32; i++)
        {
            var pcr = Describe(nsm, i);
            Assert.Equal(i < 16, pcr.Locked);
            Assert.Equal(48, pcr.Data.Length);
            Assert.Equal(i != 4, pcr.Data.All(b => b == 0));
        }
    }

    [Fact]
    public void Boot_pcrs_are_set_as_given_and_identities_are_measured_into_pcr3_and_pcr4()
    {
        var pcr0 = RandomNumberGenerator.GetBytes(48);
        var pcr8 = RandomNumberGenerator.GetBytes(48);
        var options = new SoftwareNsmOptions
        {
            ParentRoleArn = "arn:aws:iam::123456789012:role/Webserver",
            ParentInstanceId = "i-1234567890abcdef0",
        };
        options.Pcrs[0] = pcr0;
        options.Pcrs[8] = pcr8;

        using var nsm = new SoftwareNsm(_root, options);

        Assert.Equal(pcr0, Describe(nsm, 0).Data);
        Assert.Equal(pcr8, Describe(nsm, 8).Data);
        // reference/eif-nsm-spec.md §2.3 vectors.
        Assert.Equal(
            "78fce75db17cd4e0a3fb8dad3ad128ca5e77edbb2b2c7f75329dccd99aa5f6ef4fc1f1a452e315b9e98f9e312e6921e6",
            Convert.ToHexStringLower(Describe(nsm, 3).Data));
        Assert.Equal(
            "08f996b5d43e047a9eb51e7f548bfee7e164fd7dc8f65541f2ac09d6545ac812719327281c401a67a10fcba87ae79ce0",
            Convert.ToHexStringLower(Describe(nsm, 4).Data));
        Assert.StartsWith("i-1234567890abcdef0-enc", nsm.ModuleId, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_instance_id_a_random_one_names_the_module_and_is_measured_into_pcr4()
    {
        using var nsm = new SoftwareNsm(_root);

        var instanceId = nsm.ModuleId[..nsm.ModuleId.IndexOf("-enc", StringComparison.Ordinal)];

        Assert.Equal(SHA384.HashData([.. new byte[48], .. Encoding.UTF8.GetBytes(instanceId)]), Describe(nsm, 4).Data);
    }

    [Fact]
    public void A_pcr4_value_given_directly_is_kept_when_no_instance_id_is_given()
    {
        var pcr4 = RandomNumberGenerator.GetBytes(48);
        var options = new SoftwareNsmOptions();
        options.Pcrs[4] = pcr4;

        using var nsm = new SoftwareNsm(_root, options);

        Assert.Equal(pcr4, Describe(nsm, 4).Data);
    }

    public static TheoryData<NsmRequest, NsmErrorCode> Refusals => new()
    {
        { new DescribePcrRequest(32), NsmErrorCode.InvalidIndex },
        { new DescribePcrRequest(ushort.MaxValue), NsmErrorCode.InvalidIndex },
        { new ExtendPcrRequest(32, [1]), NsmErrorCode.InvalidIndex },
        { new ExtendPcrRequest(0, [1]), NsmErrorCode.ReadOnlyIndex },
        { new ExtendPcrRequest(15, [1]), NsmErrorCode.ReadOnlyIndex },
        { new LockPcrRequest(32), NsmErrorCode.InvalidIndex },
        { new LockPcrRequest(3), NsmErrorCode.ReadOnlyIndex },
        { new LockPcrsRequest(33), NsmErrorCode.InvalidIndex },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Out_of_range_and_locked_pcrs_are_refused(NsmRequest request, NsmErrorCode expected)
    {
        using var nsm = new SoftwareNsm(_root);

        Assert.Equal(expected, Assert.IsType<NsmErrorResponse>(nsm.Process(request)).Code);
    }

    [Fact]
    public void A_locked_pcr_cannot_be_extended_or_locked_again_and_keeps_its_value()
    {
        using var nsm = new SoftwareNsm(_root);
        nsm.Process(new ExtendPcrRequest(16, [9]));
        var value = Describe(nsm, 16).Data;

        Assert.IsType<LockPcrResponse>(nsm.Process(new LockPcrRequest(16)));

        Assert.Equal(NsmErrorCode.ReadOnlyIndex, Assert.IsType<NsmErrorResponse>(nsm.Process(new ExtendPcrRequest(16, [9]))).Code);
        Assert.Equal(NsmErrorCode.ReadOnlyIndex, Assert.IsType<NsmErrorResponse>(nsm.Process(new LockPcrRequest(16))).Code);
        Assert.True(Describe(nsm, 16).Locked);
        Assert.Equal(value, Describe(nsm, 16).Data);
    }

    [Fact]
    public void Lock_pcrs_locks_the_range_and_is_idempotent_up_to_32()
    {
        using var nsm = new SoftwareNsm(_root);

        Assert.IsType<LockPcrsResponse>(nsm.Process(new LockPcrsRequest(20)));
        Assert.True(Describe(nsm, 19).Locked);
        Assert.False(Describe(nsm, 20).Locked);
        Assert.IsType<LockPcrsResponse>(nsm.Process(new LockPcrsRequest(32)));
        Assert.IsType<LockPcrsResponse>(nsm.Process(new LockPcrsRequest(32)));

        var description = Assert.IsType<DescribeNsmResponse>(nsm.Process(DescribeNsmRequest.Instance));
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ushort)i), description.LockedPcrs);
    }

    [Fact]
    public void Describe_nsm_reports_version_module_pcrs_and_digest()
    {
        using var nsm = new SoftwareNsm(_root);
        nsm.Process(new LockPcrRequest(30));
        nsm.Process(new LockPcrRequest(17));

        var description = Assert.IsType<DescribeNsmResponse>(nsm.Process(DescribeNsmRequest.Instance));

        Assert.Equal((1, 0, 0), (description.VersionMajor, description.VersionMinor, description.VersionPatch));
        Assert.Equal(nsm.ModuleId, description.ModuleId);
        Assert.Matches("^i-[0-9a-f]{17}-enc[0-9a-f]{16}$", description.ModuleId);
        Assert.Equal(32, description.MaxPcrs);
        Assert.Equal([.. Enumerable.Range(0, 16).Select(i => (ushort)i), 17, 30], description.LockedPcrs);
        Assert.Equal(NsmDigest.Sha384, description.Digest);
    }

    [Fact]
    public void Get_random_returns_256_fresh_bytes()
    {
        using var nsm = new SoftwareNsm(_root);

        var first = Assert.IsType<GetRandomResponse>(nsm.Process(GetRandomRequest.Instance)).Random;
        var second = Assert.IsType<GetRandomResponse>(nsm.Process(GetRandomRequest.Instance)).Random;

        Assert.Equal(256, first.Length);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Concurrent_extends_are_all_applied()
    {
        using var nsm = new SoftwareNsm(_root);
        const int count = 200;

        Parallel.For(0, count, _ => Assert.IsType<ExtendPcrResponse>(nsm.Process(new ExtendPcrRequest(16, [7]))));

        var expected = new byte[48];
        for (var i = 0; i < count; i++)
        {
            expected = SHA384.HashData([.. expected, 7]);
        }

        Assert.Equal(expected, Describe(nsm, 16).Data);
    }

    public static TheoryData<Action<SoftwareNsmOptions>> InvalidOptions => new()
    {
        o => o.Pcrs[16] = new byte[48],
        o => o.Pcrs[-1] = new byte[48],
        o => o.Pcrs[0] = new byte[47],
        o => o.Pcrs[0] = null!,
        o => { o.Pcrs[3] = new byte[48]; o.ParentRoleArn = "arn:aws:iam::1:role/x"; },
        o => { o.Pcrs[4] = new byte[48]; o.ParentInstanceId = "i-1234567890abcdef0"; },
        o => o.ParentInstanceId = "i-1234",
        o => o.ParentInstanceId = "i-1234567890ABCDEF0",
        o => o.Region = " ",
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Invalid_options_are_refused(Action<SoftwareNsmOptions> configure)
    {
        var options = new SoftwareNsmOptions();
        configure(options);

        Assert.Throws<ArgumentException>(() => new SoftwareNsm(_root, options));
    }

    [Fact]
    public void A_disposed_nsm_refuses_requests()
    {
        var nsm = new SoftwareNsm(_root);
        nsm.Dispose();

        Assert.Throws<ObjectDisposedException>(() => nsm.Process(GetRandomRequest.Instance));
    }

    private static DescribePcrResponse Describe(SoftwareNsm nsm, ushort index) =>
        Assert.IsType<DescribePcrResponse>(nsm.Process(new DescribePcrRequest(index)));
}

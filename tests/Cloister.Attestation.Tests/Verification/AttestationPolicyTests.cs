using Cloister.Attestation.Verification;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Verification;

public sealed class AttestationPolicyTests
{
    private static readonly AttestationVector s_prod = AttestationVectors.Get("evervault_2022-10-13_prod.cbor");
    private static readonly AttestationVector s_debugFull = AttestationVectors.Get("anjuna_2024-01-24_debug_full.cbor");
    private static readonly AttestationVector s_noOptionalFields = AttestationVectors.Get("anjuna_2021-03-17_prod.cbor");

    [Fact]
    public void The_documents_own_pcrs_match()
    {
        var policy = new AttestationPolicy { Pcrs = PcrPolicy.Exactly(Select(s_prod.Pcrs, 0, 1, 2, 8)) };

        Assert.True(Verify(s_prod, policy).IsValid);
    }

    [Fact]
    public void A_pcr_mismatch_reports_the_index_and_both_values()
    {
        var expected = Select(s_prod.Pcrs, 0, 1, 2, 8);
        var wrong = expected[2].ToArray();
        wrong[0] ^= 0xFF;
        expected[2] = wrong;

        var result = Verify(s_prod, new AttestationPolicy { Pcrs = PcrPolicy.Exactly(expected) });

        Assert.Equal(AttestationFailure.PcrMismatch, result.Failure);
        Assert.Equal(2, result.PcrMismatch!.Index);
        Assert.Equal(wrong, result.PcrMismatch.Expected);
        Assert.Equal(s_prod.Pcrs[2], result.PcrMismatch.Actual);
        Assert.Contains(Convert.ToHexStringLower(wrong), result.Detail, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(s_prod.Pcrs[2]), result.Detail, StringComparison.Ordinal);
        Assert.Contains("PCR2", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pcr_the_document_lacks_is_a_mismatch()
    {
        var result = Verify(s_prod, new AttestationPolicy { Pcrs = PcrPolicy.Exactly(new Dictionary<int, byte[]> { [20] = new byte[48] }) });

        Assert.Equal(AttestationFailure.PcrMismatch, result.Failure);
        Assert.Equal(20, result.PcrMismatch!.Index);
        Assert.Null(result.PcrMismatch.Actual);
        Assert.Contains("absent", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_one_matching_set_is_enough()
    {
        var other = Select(AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor").Pcrs, 0, 1, 2);
        var own = Select(s_prod.Pcrs, 0, 1, 2);

        var matching = Verify(s_prod, new AttestationPolicy { Pcrs = new PcrPolicy([other, own]) });
        var none = Verify(s_prod, new AttestationPolicy { Pcrs = new PcrPolicy([other, other]) });

        Assert.True(matching.IsValid, matching.ToString());
        Assert.Equal(AttestationFailure.PcrMismatch, none.Failure);
        Assert.Equal(2, none.PcrMismatch!.SetCount);
        Assert.Contains("none of 2 sets", none.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Debug_mode_is_refused_by_a_policy_unless_allowed_and_reported_without_one()
    {
        var refused = Verify(s_debugFull, new AttestationPolicy());
        var allowed = Verify(s_debugFull, new AttestationPolicy { AllowDebugMode = true });
        var noPolicy = Verify(s_debugFull, null);

        Assert.Equal(AttestationFailure.DebugModeRefused, refused.Failure);
        Assert.True(allowed.IsValid, allowed.ToString());
        Assert.True(noPolicy.IsValid, noPolicy.ToString());
        Assert.True(noPolicy.IsDebugMode);
    }

    [Fact]
    public void Matching_nonce_user_data_and_public_key_pass()
    {
        var policy = new AttestationPolicy
        {
            AllowDebugMode = true,
            ExpectedNonce = s_debugFull.Nonce,
            ExpectedUserData = s_debugFull.UserData,
            ExpectedPublicKey = s_debugFull.PublicKey,
        };

        Assert.True(Verify(s_debugFull, policy).IsValid);
    }

    [Theory]
    [InlineData("nonce", AttestationFailure.NonceMismatch)]
    [InlineData("user_data", AttestationFailure.UserDataMismatch)]
    [InlineData("public_key", AttestationFailure.PublicKeyMismatch)]
    public void A_differing_field_is_its_own_mismatch(string field, AttestationFailure expected)
    {
        var result = Verify(s_debugFull, PolicyExpecting(field, "Nonce\u000b"u8.ToArray()));

        Assert.Equal(expected, result.Failure);
        Assert.Contains($"payload.{field}", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nonce", AttestationFailure.NonceMismatch)]
    [InlineData("user_data", AttestationFailure.UserDataMismatch)]
    [InlineData("public_key", AttestationFailure.PublicKeyMismatch)]
    public void An_expected_field_the_document_lacks_is_a_mismatch(string field, AttestationFailure expected)
    {
        var result = Verify(s_noOptionalFields, PolicyExpecting(field, [1, 2, 3]));

        Assert.Equal(expected, result.Failure);
        Assert.Contains("absent", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_policies_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PcrPolicy([]));
        Assert.Throws<ArgumentException>(() => new PcrPolicy([new Dictionary<int, byte[]>()]));
        Assert.Throws<ArgumentException>(() => PcrPolicy.Exactly(new Dictionary<int, byte[]>()));
        Assert.Throws<ArgumentException>(() => new PcrPolicy([s_prod.Pcrs, new Dictionary<int, byte[]>()]));
    }

    [Fact]
    public void Pcr_sets_with_bad_indices_or_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PcrPolicy.Exactly(new Dictionary<int, byte[]> { [32] = new byte[48] }));
        Assert.Throws<ArgumentException>(() => PcrPolicy.Exactly(new Dictionary<int, byte[]> { [-1] = new byte[48] }));
        Assert.Throws<ArgumentException>(() => PcrPolicy.Exactly(new Dictionary<int, byte[]> { [0] = new byte[47] }));
    }

    private static AttestationPolicy PolicyExpecting(string field, byte[] value) => field switch
    {
        "nonce" => new AttestationPolicy { AllowDebugMode = true, ExpectedNonce = value },
        "user_data" => new AttestationPolicy { AllowDebugMode = true, ExpectedUserData = value },
        _ => new AttestationPolicy { AllowDebugMode = true, ExpectedPublicKey = value },
    };

    private static AttestationVerificationResult Verify(AttestationVector vector, AttestationPolicy? policy) =>
        Verifiers.At(vector.PinTime).Verify(vector.Read(), policy);

    private static Dictionary<int, byte[]> Select(IReadOnlyDictionary<int, byte[]> pcrs, params int[] indices) =>
        indices.ToDictionary(i => i, i => pcrs[i]);
}

using System.Text.Json;
using Cloister.Kms.Policies;

namespace Cloister.Kms.Tests.Policies;

public sealed class KmsKeyPolicyStatementTests
{
    private static readonly byte[] s_pcr0 = Filled(0xa0);
    private static readonly byte[] s_pcr1 = Filled(0xb1);
    private static readonly byte[] s_pcr2 = Filled(0xc2);

    private static byte[] Filled(byte value) => Enumerable.Repeat(value, 48).ToArray();

    private static Dictionary<int, byte[]> Image() => new() { [2] = s_pcr2, [0] = s_pcr0, [1] = s_pcr1 };

    [Fact]
    public void The_statement_is_the_shape_docs_kms_md_shows()
    {
        var statement = KmsKeyPolicyStatement.ForEnclave("payments-prod", "arn:aws:iam::123456789012:role/payments-host", Image());

        var expected = $$"""
            {
              "Sid": "CloisterEnclavePaymentsProd",
              "Effect": "Allow",
              "Principal": {
                "AWS": "arn:aws:iam::123456789012:role/payments-host"
              },
              "Action": [
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyPair",
                "kms:DeriveSharedSecret",
                "kms:GenerateRandom"
              ],
              "Resource": "*",
              "Condition": {
                "StringEqualsIgnoreCase": {
                  "kms:RecipientAttestation:ImageSha384": "{{Convert.ToHexStringLower(s_pcr0)}}",
                  "kms:RecipientAttestation:PCR1": "{{Convert.ToHexStringLower(s_pcr1)}}",
                  "kms:RecipientAttestation:PCR2": "{{Convert.ToHexStringLower(s_pcr2)}}"
                }
              }
            }
            """;
        Assert.Equal(expected, statement.ToJson());
        Assert.Equal(96, Convert.ToHexStringLower(s_pcr0).Length);
    }

    [Fact]
    public void Without_a_principal_the_placeholder_is_written()
    {
        var statement = KmsKeyPolicyStatement.ForEnclave("app", null, Image());

        Assert.Equal(KmsKeyPolicyStatement.PlaceholderPrincipal, statement.Principal);
        Assert.Equal("arn:aws:iam::111122223333:role/REPLACE-WITH-THE-HOST-ROLE", KmsKeyPolicyStatement.PlaceholderPrincipal);
        Assert.Equal("CloisterEnclaveApp", statement.Sid);
    }

    [Fact]
    public void The_allowed_actions_narrow_the_recipient_operations_in_their_fixed_order()
    {
        var statement = KmsKeyPolicyStatement.ForEnclave("app", null, Image(), ["GenerateRandom", "Encrypt", "Decrypt", "DescribeKey"]);

        Assert.Equal(["Decrypt", "GenerateRandom"], statement.Actions);
        using var json = JsonDocument.Parse(statement.ToJson());
        Assert.Equal(["kms:Decrypt", "kms:GenerateRandom"], json.RootElement.GetProperty("Action").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public void Pcr0_is_pinned_as_image_sha384_and_the_others_by_number_in_order()
    {
        var pcrs = new Dictionary<int, byte[]> { [8] = Filled(8), [0] = s_pcr0, [4] = Filled(4), [3] = Filled(3) };

        var keys = KmsKeyPolicyStatement.ForEnclave("app", null, pcrs).Conditions.Select(c => c.Key);

        Assert.Equal(
            ["kms:RecipientAttestation:ImageSha384", "kms:RecipientAttestation:PCR3", "kms:RecipientAttestation:PCR4", "kms:RecipientAttestation:PCR8"],
            keys);
    }

    [Fact]
    public void The_statement_keeps_its_own_copy_of_the_pcrs()
    {
        var pcrs = Image();
        var statement = KmsKeyPolicyStatement.ForEnclave("app", null, pcrs);
        var before = statement.ToJson();

        pcrs[0][0] = 0xff;

        Assert.Equal(before, statement.ToJson());
    }

    [Theory]
    [InlineData(0, -1, 0xa0, "PCR0 must be pinned")]
    [InlineData(5, 48, 0x05, "PCR5 cannot be pinned")]
    [InlineData(2, 32, 0xc2, "PCR2 must be 48 bytes")]
    [InlineData(0, 48, 0x00, "PCR0 is all zeros, which every debug-mode enclave attests")]
    [InlineData(1, 48, 0x00, "PCR1 is all zeros")]
    public void Pcrs_that_cannot_pin_an_image_are_refused(int index, int length, byte fill, string expected)
    {
        var pcrs = Image();
        if (length < 0)
        {
            pcrs.Remove(index);
        }
        else
        {
            pcrs[index] = Enumerable.Repeat(fill, length).ToArray();
        }

        var ex = Assert.Throws<ArgumentException>(() => KmsKeyPolicyStatement.ForEnclave("app", null, pcrs));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("111122223333")]
    [InlineData("arn:aws:kms:us-east-1:111122223333:key/x")]
    [InlineData("arn:aws:iam::1111:role/x")]
    [InlineData("arn:aws:iam::111122223333:role/with space")]
    public void A_principal_that_is_not_an_iam_arn_is_refused(string principal)
    {
        var ex = Assert.Throws<ArgumentException>(() => KmsKeyPolicyStatement.ForEnclave("app", principal, Image()));

        Assert.Contains("is not an IAM principal ARN", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_partitions_and_users_are_principals_too() =>
        Assert.Equal(
            "arn:aws-cn:iam::111122223333:user/ops",
            KmsKeyPolicyStatement.ForEnclave("app", "arn:aws-cn:iam::111122223333:user/ops", Image()).Principal);

    [Fact]
    public void Allowed_actions_without_a_recipient_operation_are_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => KmsKeyPolicyStatement.ForEnclave("app", null, Image(), ["Encrypt", "DescribeKey"]));

        Assert.Contains("none of the operations that take a Recipient", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("ü")]
    public void A_name_that_makes_no_statement_id_is_refused(string name) =>
        Assert.Throws<ArgumentException>(() => KmsKeyPolicyStatement.ForEnclave(name, null, Image()));

    [Theory]
    [InlineData("hello", "CloisterEnclaveHello")]
    [InlineData("registry.example.com/my-app", "CloisterEnclaveRegistryExampleComMyApp")]
    [InlineData("a1-b2", "CloisterEnclaveA1B2")]
    public void The_statement_id_keeps_only_the_names_letters_and_digits(string name, string sid) =>
        Assert.Equal(sid, KmsKeyPolicyStatement.ForEnclave(name, null, Image()).Sid);
}

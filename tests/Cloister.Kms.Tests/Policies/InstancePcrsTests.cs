using Cloister.Kms.Policies;

namespace Cloister.Kms.Tests.Policies;

public sealed class InstancePcrsTests
{
    [Fact]
    public void Pcr3_is_the_user_guides_example()
    {
        // The Nitro Enclaves User Guide's example, "Where to get an enclave's measurements" (PCR3).
        Assert.Equal(
            "78fce75db17cd4e0a3fb8dad3ad128ca5e77edbb2b2c7f75329dccd99aa5f6ef4fc1f1a452e315b9e98f9e312e6921e6",
            Convert.ToHexStringLower(InstancePcrs.ForIamRole("arn:aws:iam::123456789012:role/Webserver")));
    }

    [Fact]
    public void Pcr4_extends_the_instance_id_into_zeros()
    {
        var expected = System.Security.Cryptography.SHA384.HashData([.. new byte[48], .. "i-1234567890abcdef0"u8]);

        Assert.Equal(expected, InstancePcrs.ForInstanceId("i-1234567890abcdef0"));
    }

    [Theory]
    [InlineData("arn:aws:iam::123456789012:user/ops")]
    [InlineData("Webserver")]
    public void Pcr3_needs_a_role_arn(string arn) =>
        Assert.Contains("is not an IAM role ARN", Assert.Throws<ArgumentException>(() => InstancePcrs.ForIamRole(arn)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("i-123")]
    [InlineData("1234567890abcdef0")]
    public void Pcr4_needs_an_instance_id(string id) =>
        Assert.Contains("is not an EC2 instance id", Assert.Throws<ArgumentException>(() => InstancePcrs.ForInstanceId(id)).Message, StringComparison.Ordinal);
}

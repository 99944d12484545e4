using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Cloister.Kms.Policies;

/// <summary>
/// PCR3 and PCR4, which measure the parent instance rather than the image: the extend of the UTF-8 of its IAM role's
/// ARN (PCR3) or of its instance id (PCR4) into 48 zero bytes, as the Nitro Enclaves User Guide computes them
/// ("Where to get an enclave's measurements").
/// </summary>
public static partial class InstancePcrs
{
    [GeneratedRegex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[!-~]+$")]
    private static partial Regex RoleArnRule();

    [GeneratedRegex("^i-([0-9a-f]{8}|[0-9a-f]{17})$")]
    private static partial Regex InstanceIdRule();

    /// <summary>PCR3 of enclaves on instances with the role <paramref name="roleArn"/>.</summary>
    /// <param name="roleArn">An IAM role ARN, e.g. <c>arn:aws:iam::123456789012:role/Webserver</c>.</param>
    /// <returns>48 bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="roleArn"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="roleArn"/> is not an IAM role ARN.</exception>
    public static byte[] ForIamRole(string roleArn)
    {
        ArgumentNullException.ThrowIfNull(roleArn);
        return RoleArnRule().IsMatch(roleArn)
            ? Extend(roleArn)
            : throw new ArgumentException($"'{roleArn}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), which PCR3 measures", nameof(roleArn));
    }

    /// <summary>PCR4 of enclaves on the instance <paramref name="instanceId"/>.</summary>
    /// <param name="instanceId">An EC2 instance id, e.g. <c>i-1234567890abcdef0</c>.</param>
    /// <returns>48 bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="instanceId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is not an EC2 instance id.</exception>
    public static byte[] ForInstanceId(string instanceId)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return InstanceIdRule().IsMatch(instanceId)
            ? Extend(instanceId)
            : throw new ArgumentException($"'{instanceId}' is not an EC2 instance id (i- and 8 or 17 hex digits), which PCR4 measures", nameof(instanceId));
    }

    private static byte[] Extend(string text)
    {
        var input = new byte[48 + Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(text, input.AsSpan(48));
        return SHA384.HashData(input);
    }
}

namespace Cloister.Kms.Proxy;

/// <summary>
/// Whether KMS's answer names the key the app asked for (docs/kms.md, "The proxy's wire"). KMS answers a key ARN;
/// what it must equal depends on how the key was asked for.
/// </summary>
internal static class KmsKeyIds
{
    /// <summary>Whether <paramref name="answered"/> (the answer's <c>KeyId</c>) is the key <paramref name="asked"/> names.</summary>
    public static bool IsAnswerFor(string asked, string answered, string region)
    {
        if (!TryParseArn(answered, out var key) || !key.Resource.StartsWith("key/", StringComparison.Ordinal) || key.Resource.Length == "key/".Length)
        {
            return false;
        }

        if (TryParseArn(asked, out var arn))
        {
            // A key ARN names one key; an alias ARN one alias, whose key lives in the same partition, region and account.
            return arn.Resource.StartsWith("alias/", StringComparison.Ordinal)
                ? key.Partition == arn.Partition && key.Region == arn.Region && key.Account == arn.Account
                : answered == asked;
        }

        // A bare alias or key id is resolved in the endpoint's region and the caller's account, which the proxy does
        // not know; a bare key id still fixes the key.
        return key.Region == region && (asked.StartsWith("alias/", StringComparison.Ordinal) || key.Resource == $"key/{asked}");
    }

    private static bool TryParseArn(string value, out (string Partition, string Region, string Account, string Resource) arn)
    {
        arn = default;
        var parts = value.Split(':', 6);
        if (parts is not ["arn", { Length: > 0 } partition, "kms", { Length: > 0 } region, { Length: > 0 } account, { Length: > 0 } resource])
        {
            return false;
        }

        arn = (partition, region, account, resource);
        return true;
    }
}

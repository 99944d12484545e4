namespace Cloister.Kms.Credentials;

/// <summary>AWS credentials as IMDS serves an instance role's (and as the host's vsock 7004 passes them on).</summary>
/// <param name="AccessKeyId">The access key id.</param>
/// <param name="SecretAccessKey">The secret access key.</param>
/// <param name="SessionToken">The session token of temporary credentials, or <see langword="null"/> for long-term keys.</param>
/// <param name="Expiration">When temporary credentials expire, or <see langword="null"/> for long-term keys.</param>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken, DateTimeOffset? Expiration)
{
    /// <summary>Never prints the secret or the token.</summary>
    /// <returns>The access key id and expiry.</returns>
    public override string ToString() => $"AwsCredentials {{ AccessKeyId = {AccessKeyId}, Expiration = {Expiration?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "none"} }}";
}

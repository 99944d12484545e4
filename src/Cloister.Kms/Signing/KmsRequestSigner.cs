using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Cloister.Kms.Credentials;

namespace Cloister.Kms.Signing;

/// <summary>
/// Signs a KMS call with SigV4 (service <c>kms</c>) through the AWS SDK for .NET's own standalone signer
/// (<see cref="AWSSigV4Signer"/> in AWSSDK.Core), not a signer of ours: the canonical request, the scope and the
/// signing key are exactly what every AWS SDK computes.
/// </summary>
public static class KmsRequestSigner
{
    /// <summary>The SigV4 service name of AWS KMS.</summary>
    public const string Service = "kms";

    /// <summary>The content type of the KMS JSON protocol, which the signature covers.</summary>
    public const string ContentType = "application/x-amz-json-1.1";

    /// <summary>
    /// Computes the headers that sign <c>POST /</c> to <paramref name="endpoint"/> with <c>X-Amz-Target</c>
    /// <paramref name="target"/>, <c>Content-Type</c> <see cref="ContentType"/> and <paramref name="body"/>.
    /// The request sent must carry exactly those three, <c>Host</c> as the endpoint names it, and the returned headers:
    /// <c>Authorization</c>, <c>X-Amz-Date</c>, <c>X-Amz-Content-SHA256</c> and, for temporary credentials,
    /// <c>x-amz-security-token</c>.
    /// </summary>
    /// <param name="endpoint">The KMS endpoint (<c>https://host[:port]/</c>).</param>
    /// <param name="target">The <c>X-Amz-Target</c> value, e.g. <c>TrentService.Decrypt</c>.</param>
    /// <param name="body">The JSON body.</param>
    /// <param name="credentials">The credentials to sign with.</param>
    /// <param name="region">The signing region, e.g. <c>us-east-1</c>.</param>
    /// <param name="signedAt">The signing time (UTC); KMS refuses a signature more than 5 minutes off its clock.</param>
    /// <returns>The headers to add, by name.</returns>
    /// <exception cref="ArgumentNullException">A reference argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is not absolute, or <paramref name="target"/> or <paramref name="region"/> is empty.</exception>
    public static IReadOnlyDictionary<string, string> Sign(Uri endpoint, string target, ReadOnlyMemory<byte> body, AwsCredentials credentials, string region, DateTimeOffset signedAt)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrEmpty(region);
        if (!endpoint.IsAbsoluteUri)
        {
            throw new ArgumentException($"the endpoint '{endpoint}' is not an absolute URL", nameof(endpoint));
        }

        var request = new AWSSigningRequest
        {
            HttpMethod = HttpMethod.Post,
            RequestUri = endpoint,
            Content = body.ToArray(),
        };
        request.Headers["Content-Type"] = ContentType;
        request.Headers["X-Amz-Target"] = target;
        AWSCredentials sdkCredentials = credentials.SessionToken is { } token
            ? new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, token)
            : new BasicAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey);
        var result = AWSSigV4Signer.Sign(request, new AWSSigV4Parameters
        {
            Credentials = sdkCredentials,
            Region = Amazon.RegionEndpoint.GetBySystemName(region),
            Service = Service,
            // The payload's hash goes into X-Amz-Content-SHA256 and the signature: the body is signed, not "UNSIGNED-PAYLOAD".
            SignPayload = true,
            SignedAt = signedAt.UtcDateTime,
        });
        return new Dictionary<string, string>(result.Headers, StringComparer.OrdinalIgnoreCase);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Cloister.Kms.TestServer;

/// <summary>
/// Checks a request's AWS Signature Version 4 (header form) as the AWS IAM User Guide describes it ("Create a signed
/// AWS API request", "Elements of an AWS API request signature"): Authorization =
/// <c>AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex</c>;
/// canonical request = method, URI, query, canonical headers, signed headers, hex SHA-256 of the body;
/// string to sign = algorithm, x-amz-date, scope, hex SHA-256 of the canonical request;
/// key = HMAC chain "AWS4"+secret → date → region → service → "aws4_request". The date must be within 15 minutes of now
/// (the window AWS documents for a signature's validity).
/// Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and reference_sigv4-signing-elements.html.
/// </summary>
internal sealed class SigV4Verifier(KmsCredentials credentials, string region, TimeProvider timeProvider)
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private const string Service = "kms";
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    /// <summary>Throws the error AWS answers for an unsigned, mis-scoped or badly signed request.</summary>
    public void Verify(HttpRequest request, ReadOnlySpan<byte> body)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            throw new KmsErrorException("MissingAuthenticationTokenException", "Request is missing Authentication Token");
        }

        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            throw new KmsErrorException("IncompleteSignatureException", $"Authorization header requires the {Algorithm} algorithm");
        }

        var parts = ParseAuthorization(authorization.AsSpan(Algorithm.Length + 1));
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("SignedHeaders", out var signedHeaders) ||
            !parts.TryGetValue("Signature", out var signature))
        {
            throw new KmsErrorException("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters");
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            throw new KmsErrorException("IncompleteSignatureException", $"Credential '{credential}' is not AKID/DATE/REGION/SERVICE/aws4_request");
        }

        if (scope[0] != credentials.AccessKeyId)
        {
            throw new KmsErrorException("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        if (credentials.SessionToken is { } token && request.Headers["x-amz-security-token"].ToString() != token)
        {
            throw new KmsErrorException("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        if (scope[2] != region)
        {
            throw new KmsErrorException("InvalidSignatureException", $"Credential should be scoped to a valid region, not '{scope[2]}' (this KMS is {region})");
        }

        if (scope[3] != Service)
        {
            throw new KmsErrorException("InvalidSignatureException", $"Credential should be scoped to correct service: '{Service}'");
        }

        var amzDate = request.Headers["x-amz-date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt))
        {
            throw new KmsErrorException("IncompleteSignatureException", "The request has no valid X-Amz-Date header (yyyyMMddTHHmmssZ)");
        }

        if (scope[1] != amzDate[..8])
        {
            throw new KmsErrorException("InvalidSignatureException", $"Credential date {scope[1]} does not match X-Amz-Date {amzDate}");
        }

        var now = timeProvider.GetUtcNow();
        if (signedAt < now - Window)
        {
            throw new KmsErrorException("InvalidSignatureException",
                $"Signature expired: {amzDate} is now earlier than {(now - Window).ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)} (15 minutes ago)");
        }

        if (signedAt > now + Window)
        {
            throw new KmsErrorException("InvalidSignatureException",
                $"Signature not yet current: {amzDate} is still later than {(now + Window).ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)} (15 minutes from now)");
        }

        var names = signedHeaders.Split(';');
        if (!names.Contains("host") || !names.Contains("x-amz-date"))
        {
            throw new KmsErrorException("InvalidSignatureException", "SignedHeaders must include host and x-amz-date");
        }

        var canonical = CanonicalRequest(request, names, signedHeaders, body);
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope[1]}/{scope[2]}/{scope[3]}/aws4_request\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), Encoding.UTF8.GetBytes(scope[1]));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(scope[2]));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(scope[3]));
        key = HMACSHA256.HashData(key, "aws4_request"u8);
        var expected = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            throw new KmsErrorException("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
        }
    }

    private static Dictionary<string, string> ParseAuthorization(ReadOnlySpan<char> text)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var range in text.Split(','))
        {
            var part = text[range].Trim();
            var equals = part.IndexOf('=');
            if (equals > 0)
            {
                parts[part[..equals].ToString()] = part[(equals + 1)..].ToString();
            }
        }

        return parts;
    }

    private static string CanonicalRequest(HttpRequest request, string[] names, string signedHeaders, ReadOnlySpan<byte> body)
    {
        var builder = new StringBuilder();
        builder.Append(request.Method).Append('\n');
        // KMS is always called at "/"; the path is already URI-encoded as sent.
        builder.Append(request.Path.HasValue ? request.Path.Value : "/").Append('\n');
        builder.Append(CanonicalQuery(request.QueryString.Value)).Append('\n');
        foreach (var name in names)
        {
            // Kestrel joins repeated headers with ","; SigV4 joins their trimmed values with "," too.
            var values = request.Headers[name];
            var joined = string.Join(',', values.Select(v => CollapseSpaces(v ?? string.Empty)));
            builder.Append(name).Append(':').Append(joined).Append('\n');
        }

        builder.Append('\n').Append(signedHeaders).Append('\n');
        builder.Append(Hex(SHA256.HashData(body)));
        return builder.ToString();
    }

    private static string CanonicalQuery(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return string.Empty;
        }

        var pairs = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Contains('=', StringComparison.Ordinal) ? p : p + "=")
            .Order(StringComparer.Ordinal);
        return string.Join('&', pairs);
    }

    private static string CollapseSpaces(string value) => string.Join(' ', value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}

/// <summary>The one set of AWS credentials the test KMS accepts.</summary>
/// <param name="AccessKeyId">The access key id the Authorization header's scope must name.</param>
/// <param name="SecretAccessKey">The secret the signature is computed with.</param>
/// <param name="SessionToken">When set, every request must carry it in <c>X-Amz-Security-Token</c> (temporary credentials).</param>
public sealed record KmsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null);

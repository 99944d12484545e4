using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Kms.Tests;

/// <summary>
/// SigV4 written out from AWS's specification (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
/// for requests to <c>/</c> without a query: the independent check of what the SDK's signer produced. It is itself
/// held to AWS's published test-suite values (<see cref="SigningTests"/>).
/// </summary>
internal static class SigningReference
{
    public static string CanonicalRequest(string method, IEnumerable<KeyValuePair<string, string>> headers, IReadOnlyCollection<string> signedHeaders, string payloadHash)
    {
        var byName = headers.GroupBy(header => header.Key.ToLowerInvariant())
            .ToDictionary(group => group.Key, group => string.Join(',', group.Select(header => header.Value.Trim())));
        var canonical = new StringBuilder().Append(method).Append("\n/\n\n");
        foreach (var name in signedHeaders)
        {
            canonical.Append(name).Append(':').Append(byName[name]).Append('\n');
        }

        return canonical.Append('\n').Append(string.Join(';', signedHeaders)).Append('\n').Append(payloadHash).ToString();
    }

    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    public static string Signature(string secretAccessKey, string date, string region, string service, string stringToSign)
    {
        var key = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        foreach (var part in new[] { date, region, service, "aws4_request" })
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }

        return Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    /// <summary>
    /// Checks a signed request as a SigV4 service would: the signature its <c>Authorization</c> header states must be
    /// the one its headers and body give. Returns the reason it does not verify, or null.
    /// </summary>
    public static string? Verify(string method, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body, string secretAccessKey)
    {
        string? Header(string name) => headers.Where(header => header.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(header => header.Value).FirstOrDefault();
        var authorization = Header("Authorization");
        var amzDate = Header("X-Amz-Date");
        if (authorization is null || amzDate is null)
        {
            return "no Authorization or X-Amz-Date header";
        }

        var fields = authorization["AWS4-HMAC-SHA256 ".Length..].Split(", ")
            .Select(field => field.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
        var credential = fields["Credential"].Split('/');
        var signedHeaders = fields["SignedHeaders"].Split(';');
        var payloadHash = Hex(SHA256.HashData(body));
        if (Header("X-Amz-Content-SHA256") is { } stated && stated != payloadHash)
        {
            return $"X-Amz-Content-SHA256 {stated} is not the body's hash {payloadHash}";
        }

        var scope = string.Join('/', credential[1..]);
        var expected = Signature(secretAccessKey, credential[1], credential[2], credential[3], StringToSign(amzDate, scope, CanonicalRequest(method, headers, signedHeaders, payloadHash)));
        return expected == fields["Signature"] ? null : string.Create(CultureInfo.InvariantCulture, $"signature {fields["Signature"]}, expected {expected}");
    }

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}

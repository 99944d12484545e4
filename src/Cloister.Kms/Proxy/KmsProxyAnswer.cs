using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Cloister.Kms.Proxy;

/// <summary>What the proxy answers the app: KMS's answer (rewritten for the Recipient operations) or the proxy's own error.</summary>
/// <param name="StatusCode">The HTTP status.</param>
/// <param name="Body">The body; it may hold plaintext, so the server zeroes it once written.</param>
/// <param name="ContentType">The <c>Content-Type</c>.</param>
/// <param name="ErrorType">For the proxy's own errors, the <c>x-amzn-ErrorType</c> header; null for KMS's answers.</param>
/// <param name="Failure">For the proxy's own errors, why; null for KMS's answers.</param>
public sealed record KmsProxyAnswer(int StatusCode, byte[] Body, string ContentType, string? ErrorType, KmsProxyFailure? Failure)
{
    /// <summary>KMS's JSON content type, which every SDK sends and reads.</summary>
    public const string JsonContentType = "application/x-amz-json-1.1";

    /// <summary>The proxy's error in KMS's shape: <c>{"__type": TYPE, "message": "cloister kms_proxy: REASON"}</c>.</summary>
    /// <param name="failure">Why.</param>
    /// <param name="reason">One line for the app's developer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="failure"/> is not a defined value.</exception>
    public static KmsProxyAnswer Error(KmsProxyFailure failure, string reason)
    {
        var (status, type) = KmsProxyFailures.Describe(failure);
        var buffer = new ArrayBufferWriter<byte>();
        // The message goes to an SDK, never into HTML: the relaxed encoder keeps quotes in key names readable.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("__type", type);
            json.WriteString("message", $"cloister kms_proxy: {reason}");
            json.WriteEndObject();
        }

        return new KmsProxyAnswer(status, buffer.WrittenSpan.ToArray(), JsonContentType, type, failure);
    }
}

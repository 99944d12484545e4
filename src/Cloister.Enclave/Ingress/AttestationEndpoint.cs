using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Enclave.Nitro;
using Microsoft.AspNetCore.Http;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// <c>GET /.well-known/attestation</c> on every attested port, answered here and never passed to the app:
/// <c>{"attestation_doc":"&lt;base64&gt;"}</c> with the base certificate's own document, or with <c>?nonce=&lt;base64&gt;</c>
/// a fresh document carrying that nonce and, as user_data, the base certificate's key binding (the key a client sees
/// without a nonce SNI), so the answer ties the nonce to the certificate most clients hold. Fresh documents pass the
/// same guard as nonce certificates; over it the answer is 429.
/// </summary>
internal static class AttestationEndpoint
{
    public const string Path = "/.well-known/attestation";

    /// <summary>The most nonce bytes the NSM takes.</summary>
    public const int MaxNonceLength = SoftwareNsm.MaxAttestationFieldLength;

    public static async Task HandleAsync(HttpContext context, AttestedPort port)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET";
            await WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "error", $"{Path} takes GET");
            return;
        }

        // Browsers fetch it from other origins (Evervault's endpoint answers the same).
        context.Response.Headers.AccessControlAllowOrigin = "*";
        var current = port.Base.Current.Served;
        if (!context.Request.Query.TryGetValue("nonce", out var nonceText))
        {
            await WriteAsync(context, StatusCodes.Status200OK, "attestation_doc", current.Document);
            return;
        }

        if (!TryDecodeNonce(nonceText.ToString(), out var nonce))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, "error", $"nonce: not 1 to {MaxNonceLength} bytes of base64 or base64url");
            return;
        }

        using var slot = await port.Guard.EnterAsync($"{port.Name}: a nonce document for {context.Connection.RemoteIpAddress}", context.RequestAborted);
        if (slot.Refusal is { } refusal)
        {
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, StatusCodes.Status429TooManyRequests, "error", $"too many fresh documents asked for: {refusal}");
            return;
        }

        byte[] document;
        try
        {
            document = await NsmAttestation.GetDocumentAsync(port.Certificates.Nsm, new AttestationRequest(current.KeyBinding, nonce), context.RequestAborted);
        }
        catch (IOException ex)
        {
            await port.ConnectionErrors.WriteAsync($"{port.Name}: a nonce document could not be made: {ex.Message}");
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "error", "the NSM did not answer");
            return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, "attestation_doc", document);
    }

    /// <summary>Standard or URL-safe base64, padded or not (a '+' that the query string turned into a space counts as '+').</summary>
    public static bool TryDecodeNonce(string text, out byte[] nonce)
    {
        nonce = [];
        if (text.Length is 0 or > ((MaxNonceLength + 2) / 3 * 4))
        {
            return false;
        }

        Span<char> normalized = stackalloc char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            normalized[i] = text[i] switch
            {
                ' ' or '+' => '-',
                '/' => '_',
                _ => text[i],
            };
        }

        var trimmed = normalized.TrimEnd('=');
        var decoded = new byte[Base64Url.GetMaxDecodedLength(trimmed.Length)];
        if (Base64Url.DecodeFromChars(trimmed, decoded, out var consumed, out var written) != OperationStatus.Done || consumed != trimmed.Length || written is 0 or > MaxNonceLength)
        {
            return false;
        }

        nonce = decoded[..written];
        return true;
    }

    private static Task WriteAsync(HttpContext context, int status, string name, string value) => WriteAsync(context, status, json => json.WriteString(name, value));

    private static Task WriteAsync(HttpContext context, int status, string name, byte[] value) => WriteAsync(context, status, json => json.WriteBase64String(name, value));

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> property)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            property(json);
            json.WriteEndObject();
        }

        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}

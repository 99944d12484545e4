using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Attestation.Simulation;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// The body of <c>POST /attestation-doc</c>: <c>{"nonce": b64, "user_data": b64, "public_key": b64}</c>, each optional, plus
/// Cages' spellings: <c>challenge</c> (a string whose UTF-8 bytes become user_data) and <c>publicKey</c> (base64).
/// </summary>
internal sealed record AttestationDocRequest(byte[]? Nonce, byte[]? UserData, byte[]? PublicKey)
{
    /// <summary>The most bytes the NSM accepts in each field.</summary>
    public const int MaxFieldLength = SoftwareNsm.MaxAttestationFieldLength;

    /// <summary>Parses and checks a body; an empty body asks for a document with none of the fields.</summary>
    /// <exception cref="FormatException">The JSON, a base64 field or a field's length is wrong; the message names the field.</exception>
    public static AttestationDocRequest Parse(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return new(null, null, null);
        }

        Body body;
        try
        {
            body = JsonSerializer.Deserialize(json, LocalApiJsonContext.Default.Body) ?? throw new FormatException("the body is null, not an object");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"the body is not the expected JSON object: {ex.Message}", ex);
        }

        if (body.UserData is not null && body.Challenge is not null)
        {
            throw new FormatException("give either user_data or challenge, not both");
        }

        if (body.PublicKey is not null && body.CagesPublicKey is not null)
        {
            throw new FormatException("give either public_key or publicKey, not both");
        }

        var userData = body.Challenge is { } challenge ? Encoding.UTF8.GetBytes(challenge) : Base64("user_data", body.UserData);
        return new(
            Checked("nonce", Base64("nonce", body.Nonce)),
            Checked(body.Challenge is null ? "user_data" : "challenge", userData),
            Checked(body.PublicKey is null && body.CagesPublicKey is not null ? "publicKey" : "public_key", Base64("public_key", body.PublicKey ?? body.CagesPublicKey)));
    }

    private static byte[]? Base64(string field, string? text)
    {
        if (text is null)
        {
            return null;
        }

        var bytes = new byte[(text.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(text, bytes, out var length)
            ? bytes[..length]
            : throw new FormatException($"{field}: not valid base64");
    }

    private static byte[]? Checked(string field, byte[]? value) =>
        value is { Length: > MaxFieldLength }
            ? throw new FormatException($"{field}: {value.Length} bytes, the NSM accepts at most {MaxFieldLength}")
            : value;

    internal sealed class Body
    {
        [JsonPropertyName("nonce")]
        public string? Nonce { get; init; }

        [JsonPropertyName("user_data")]
        public string? UserData { get; init; }

        [JsonPropertyName("challenge")]
        public string? Challenge { get; init; }

        [JsonPropertyName("public_key")]
        public string? PublicKey { get; init; }

        [JsonPropertyName("publicKey")]
        public string? CagesPublicKey { get; init; }
    }
}

[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AttestationDocRequest.Body))]
internal sealed partial class LocalApiJsonContext : JsonSerializerContext;

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Runtime.Provisioning;

/// <summary>
/// A host's one-time permission for one enclave to be provisioned: which deployment, which host, until when, signed
/// by the provisioner (ECDSA P-384, SHA-384). The enclave puts <see cref="HashOf"/> of the text in its attestation
/// document's <c>user_data</c>, so a document can be redeemed only with the token it was made for.
/// </summary>
/// <remarks>
/// The text is <c>v1.</c>, the unpadded base64url of the payload JSON
/// (<c>{"id","deployment","host","issued_at","expires_at"}</c>, times in Unix seconds), a dot, and the unpadded
/// base64url of the IEEE P1363 signature over the ASCII of everything before that dot. The host and the enclave treat
/// it as opaque; only the provisioner reads it.
/// </remarks>
public sealed class ProvisioningToken
{
    /// <summary>The longest token text accepted anywhere.</summary>
    public const int MaxLength = 2048;

    private const string Prefix = "v1.";
    private const int IdSize = 16;

    private ProvisioningToken(string text, string id, string deployment, string host, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        Text = text;
        Id = id;
        Deployment = deployment;
        Host = host;
        IssuedAt = issuedAt;
        ExpiresAt = expiresAt;
    }

    /// <summary>The token as it travels.</summary>
    public string Text { get; }

    /// <summary>The unique id (32 hex digits) under which its single use is recorded.</summary>
    public string Id { get; }

    /// <summary>The deployment it was issued for.</summary>
    public string Deployment { get; }

    /// <summary>The host it was issued to.</summary>
    public string Host { get; }

    /// <summary>When it was issued (whole seconds).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>When it stops being redeemable (whole seconds).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The SHA-384 of a token's text (UTF-8): what the enclave's attestation document carries as <c>user_data</c>.</summary>
    /// <param name="text">The token text.</param>
    /// <returns>48 bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static byte[] HashOf(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SHA384.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Issues a token with a fresh random id.</summary>
    /// <param name="deployment">The deployment.</param>
    /// <param name="host">The host it is issued to.</param>
    /// <param name="now">The issuing time (truncated to seconds).</param>
    /// <param name="lifetime">How long it lives: more than zero, at most <see cref="ProvisioningProtocol.MaxTokenLifetime"/>.</param>
    /// <param name="signingKey">The provisioner's P-384 token key.</param>
    /// <returns>The token.</returns>
    /// <exception cref="ArgumentException">A name is empty, the lifetime is out of range, or the key is not P-384.</exception>
    public static ProvisioningToken Issue(string deployment, string host, DateTimeOffset now, TimeSpan lifetime, ECDsa signingKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(deployment);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(signingKey);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lifetime, ProvisioningProtocol.MaxTokenLifetime);
        if (signingKey.KeySize != 384)
        {
            throw new ArgumentException($"a token key is P-384, not a {signingKey.KeySize}-bit key", nameof(signingKey));
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var payload = new TokenPayload
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdSize)),
            Deployment = deployment,
            Host = host,
            IssuedAt = issued.ToUnixTimeSeconds(),
            ExpiresAt = (issued + lifetime).ToUnixTimeSeconds(),
        };
        var signed = Prefix + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload, TokenPayloadJson.Default.TokenPayload));
        var signature = signingKey.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var text = signed + "." + Base64Url.EncodeToString(signature);
        if (text.Length > MaxLength)
        {
            throw new ArgumentException($"a token for deployment '{deployment}' and host '{host}' would be longer than {MaxLength} characters");
        }

        return From(text, payload);
    }

    /// <summary>Reads a token and checks its signature (not its expiry, which is the caller's clock's business).</summary>
    /// <param name="text">The token text.</param>
    /// <param name="verificationKey">The provisioner's P-384 token key (its public half suffices).</param>
    /// <param name="token">The token, when it is well-formed and signed by the key.</param>
    /// <param name="failure">Otherwise why not, in a few words.</param>
    /// <returns>Whether the token is well-formed and signed by the key.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static bool TryRead(string text, ECDsa verificationKey, out ProvisioningToken? token, out string? failure)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(verificationKey);
        token = null;
        failure = Read(text, verificationKey, ref token);
        return failure is null;
    }

    private static string? Read(string text, ECDsa verificationKey, ref ProvisioningToken? token)
    {
        if (text.Length > MaxLength || !text.StartsWith(Prefix, StringComparison.Ordinal) || !Ascii.IsValid(text))
        {
            return "not a v1 token";
        }

        var dot = text.LastIndexOf('.');
        if (dot < Prefix.Length)
        {
            return "not a v1 token";
        }

        byte[] payloadBytes, signature;
        try
        {
            payloadBytes = Base64Url.DecodeFromChars(text.AsSpan(Prefix.Length, dot - Prefix.Length));
            signature = Base64Url.DecodeFromChars(text.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return "not base64url";
        }

        if (!verificationKey.VerifyData(Encoding.ASCII.GetBytes(text[..dot]), signature, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return "the signature does not verify";
        }

        TokenPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize(payloadBytes, TokenPayloadJson.Default.TokenPayload);
        }
        catch (JsonException)
        {
            return "the payload is not the token's JSON";
        }

        if (payload is null || payload.Id.Length != 2 * IdSize || payload.Deployment.Length == 0 || payload.Host.Length == 0 || payload.ExpiresAt <= payload.IssuedAt)
        {
            return "the payload is incomplete";
        }

        token = From(text, payload);
        return null;
    }

    private static ProvisioningToken From(string text, TokenPayload payload) =>
        new(text, payload.Id, payload.Deployment, payload.Host, DateTimeOffset.FromUnixTimeSeconds(payload.IssuedAt), DateTimeOffset.FromUnixTimeSeconds(payload.ExpiresAt));
}

internal sealed class TokenPayload
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("deployment")]
    public required string Deployment { get; init; }

    [JsonPropertyName("host")]
    public required string Host { get; init; }

    [JsonPropertyName("issued_at")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("expires_at")]
    public required long ExpiresAt { get; init; }
}

[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(TokenPayload))]
internal sealed partial class TokenPayloadJson : JsonSerializerContext;

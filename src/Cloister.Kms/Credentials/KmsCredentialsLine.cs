using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Kms.Credentials;

/// <summary>
/// The one JSON line the host's credentials service (vsock 7004) answers per connection (docs/kms.md, "Credentials"):
/// <c>{"AccessKeyId","SecretAccessKey","Token","Expiration"}</c> in IMDS's field names, <c>Token</c> and
/// <c>Expiration</c> absent for long-term keys, or <c>{"error": "…"}</c>.
/// </summary>
public static class KmsCredentialsLine
{
    /// <summary>The longest line either side accepts, <c>'\n'</c> excluded: a session token is a few KiB at most.</summary>
    public const int MaxLength = 16 << 10;

    /// <summary>The line for <paramref name="credentials"/>, without its <c>'\n'</c>.</summary>
    /// <param name="credentials">The credentials.</param>
    /// <returns>UTF-8 JSON.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="credentials"/> is <see langword="null"/>.</exception>
    public static byte[] Write(AwsCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return JsonSerializer.SerializeToUtf8Bytes(
            new KmsCredentialsMessage
            {
                AccessKeyId = credentials.AccessKeyId,
                SecretAccessKey = credentials.SecretAccessKey,
                Token = credentials.SessionToken,
                Expiration = credentials.Expiration?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            },
            KmsCredentialsJson.Default.KmsCredentialsMessage);
    }

    /// <summary>The error line, without its <c>'\n'</c>.</summary>
    /// <param name="reason">Why there are no credentials; line breaks become spaces.</param>
    /// <returns>UTF-8 JSON.</returns>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is empty.</exception>
    public static byte[] WriteError(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return JsonSerializer.SerializeToUtf8Bytes(new KmsCredentialsMessage { Error = reason.ReplaceLineEndings(" ") }, KmsCredentialsJson.Default.KmsCredentialsMessage);
    }

    /// <summary>Reads a line (without its <c>'\n'</c>).</summary>
    /// <param name="line">The bytes.</param>
    /// <returns>The credentials.</returns>
    /// <exception cref="KmsCredentialsException">The line is an error, or not the wire format; the message says which.</exception>
    public static AwsCredentials Parse(ReadOnlySpan<byte> line)
    {
        KmsCredentialsMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(line, KmsCredentialsJson.Default.KmsCredentialsMessage);
        }
        catch (JsonException ex)
        {
            throw new KmsCredentialsException($"the host's credentials line is not the wire format: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }

        if (message is null)
        {
            throw new KmsCredentialsException("the host's credentials line is not the wire format: null");
        }

        if (message.Error is { } error)
        {
            return message.AccessKeyId is null && message.SecretAccessKey is null && message.Token is null && message.Expiration is null
                ? throw new KmsCredentialsException($"the host has no AWS credentials: {error.ReplaceLineEndings(" ")}")
                : throw new KmsCredentialsException("the host's credentials line has both credentials and an error");
        }

        if (message.AccessKeyId is not { Length: > 0 } accessKeyId || message.SecretAccessKey is not { Length: > 0 } secret)
        {
            throw new KmsCredentialsException("the host's credentials line lacks AccessKeyId or SecretAccessKey");
        }

        if (message.Token is { Length: 0 })
        {
            throw new KmsCredentialsException("the host's credentials line has an empty Token");
        }

        DateTimeOffset? expiration = null;
        if (message.Expiration is { } text)
        {
            expiration = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                ? parsed
                : throw new KmsCredentialsException($"the host's credentials line has Expiration '{text}', not an ISO 8601 time");
        }

        return new AwsCredentials(accessKeyId, secret, message.Token, expiration);
    }
}

/// <summary>The line's fields; exactly one of the credentials and <see cref="Error"/> is present.</summary>
internal sealed class KmsCredentialsMessage
{
    public string? AccessKeyId { get; init; }

    public string? SecretAccessKey { get; init; }

    public string? Token { get; init; }

    // As IMDS writes it ("2026-12-07T21:00:00Z"), parsed leniently for any ISO 8601 time.
    public string? Expiration { get; init; }

    [JsonPropertyName("error")]
    public string? Error { get; init; }
}

[JsonSerializable(typeof(KmsCredentialsMessage))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
internal sealed partial class KmsCredentialsJson : JsonSerializerContext;

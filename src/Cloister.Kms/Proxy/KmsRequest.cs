using System.Text;
using System.Text.Json;

namespace Cloister.Kms.Proxy;

/// <summary>
/// The app's call as the proxy checks it: the action, the key fields, and where the body's object closes so that a
/// <c>Recipient</c> can be added with every other byte kept. Field names are matched ignoring case, and a field may
/// appear once: KMS's own parser must not see a key the proxy did not check.
/// </summary>
internal sealed class KmsRequest
{
    public const string TargetPrefix = "TrentService.";

    /// <summary>The fields that name a key; every one present must be in <c>kms_proxy.keys</c>.</summary>
    public static readonly string[] KeyFields = ["KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId"];

    /// <summary>The five actions that take a <c>Recipient</c>, with the field their answer's plaintext goes in.</summary>
    public static readonly IReadOnlyDictionary<string, string> RecipientActions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Decrypt"] = "Plaintext",
        ["GenerateDataKey"] = "Plaintext",
        ["GenerateRandom"] = "Plaintext",
        ["GenerateDataKeyPair"] = "PrivateKeyPlaintext",
        ["DeriveSharedSecret"] = "SharedSecret",
    };

    // The key fields each action must name when it is not KeyId; the actions that name no key need none.
    private static readonly Dictionary<string, string[]> s_requiredKeyFields = new(StringComparer.Ordinal)
    {
        ["ReEncrypt"] = ["SourceKeyId", "DestinationKeyId"],
        ["CreateAlias"] = ["TargetKeyId"],
        ["UpdateAlias"] = ["TargetKeyId"],
        ["GenerateRandom"] = [],
        ["CreateKey"] = [],
        ["ListKeys"] = [],
        ["ListAliases"] = [],
    };

    private static readonly byte[] s_recipientStart = Encoding.UTF8.GetBytes("\"Recipient\":{\"AttestationDocument\":\"");
    private static readonly byte[] s_recipientEnd = Encoding.UTF8.GetBytes("\",\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}");

    private readonly ReadOnlyMemory<byte> _body;
    private readonly int _closingBrace;
    private readonly bool _empty;

    private KmsRequest(string action, ReadOnlyMemory<byte> body, Dictionary<string, string> keys, int closingBrace, bool empty)
    {
        Action = action;
        _body = body;
        Keys = keys;
        _closingBrace = closingBrace;
        _empty = empty;
    }

    /// <summary>The action, after <c>TrentService.</c>.</summary>
    public string Action { get; }

    /// <summary>The key fields present, by their canonical name (<see cref="KeyFields"/>).</summary>
    public IReadOnlyDictionary<string, string> Keys { get; }

    /// <summary>The key this call names, the one its answer's <c>KeyId</c> must be.</summary>
    public string? KeyId => Keys.GetValueOrDefault("KeyId");

    /// <summary>Checks the call against <paramref name="policy"/>.</summary>
    /// <exception cref="KmsProxyException">It is not a KMS call, or the policy does not allow it.</exception>
    public static KmsRequest Parse(string? target, ReadOnlyMemory<byte> body, KmsProxyPolicy policy)
    {
        if (target is null || !target.StartsWith(TargetPrefix, StringComparison.Ordinal) || target.Length == TargetPrefix.Length)
        {
            throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, $"X-Amz-Target is {(target is null ? "missing" : $"'{target}'")}, not {TargetPrefix}ACTION");
        }

        var action = target[TargetPrefix.Length..];
        if (!policy.Allow.Contains(action))
        {
            throw new KmsProxyException(KmsProxyFailure.ActionNotAllowed, $"{action} is not in kms_proxy.allow ({string.Join(", ", policy.Allow.Order(StringComparer.Ordinal))})");
        }

        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var (closingBrace, empty) = ReadObject(body.Span, keys);
        var required = s_requiredKeyFields.GetValueOrDefault(action, ["KeyId"]);
        foreach (var field in required)
        {
            if (!keys.ContainsKey(field))
            {
                throw new KmsProxyException(KmsProxyFailure.MissingKeyId, $"{action} must name its key in {field} (the proxy allows only the keys of kms_proxy.keys)");
            }
        }

        foreach (var (field, key) in keys)
        {
            if (!policy.Keys.Contains(key))
            {
                throw new KmsProxyException(KmsProxyFailure.KeyNotAllowed, $"{field} '{key}' is not in kms_proxy.keys");
            }
        }

        return new KmsRequest(action, body, keys, closingBrace, empty);
    }

    /// <summary>The body with <c>"Recipient": {...}</c> added as the object's last field; every other byte is the app's.</summary>
    public byte[] WithRecipient(string attestationDocumentBase64)
    {
        var body = _body.Span;
        var separator = _empty ? 0 : 1;
        var output = new byte[body.Length + separator + s_recipientStart.Length + attestationDocumentBase64.Length + s_recipientEnd.Length];
        body[.._closingBrace].CopyTo(output);
        var at = _closingBrace;
        if (!_empty)
        {
            output[at++] = (byte)',';
        }

        s_recipientStart.CopyTo(output, at);
        at += s_recipientStart.Length;
        at += Encoding.ASCII.GetBytes(attestationDocumentBase64, output.AsSpan(at));
        s_recipientEnd.CopyTo(output, at);
        at += s_recipientEnd.Length;
        body[_closingBrace..].CopyTo(output.AsSpan(at));
        return output;
    }

    private static (int ClosingBrace, bool Empty) ReadObject(ReadOnlySpan<byte> body, Dictionary<string, string> keys)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, "the body is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!names.Add(name))
                {
                    throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, $"the body has the field '{name}' more than once");
                }

                if (name.Equals("Recipient", StringComparison.OrdinalIgnoreCase))
                {
                    throw new KmsProxyException(KmsProxyFailure.RecipientSupplied, "the body has a Recipient; the proxy adds its own attestation document, remove it");
                }

                reader.Read();
                if (Array.Find(KeyFields, f => f.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } field)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, $"{field} is a JSON {reader.TokenType}, not a string");
                    }

                    keys[field] = reader.GetString()!;
                }

                reader.Skip();
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, "the body's JSON object does not end");
            }

            var closingBrace = (int)reader.TokenStartIndex;
            // Reading on checks that only white space follows the object.
            if (reader.Read())
            {
                throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, "the body has more after its JSON object");
            }

            return (closingBrace, names.Count == 0);
        }
        catch (JsonException ex)
        {
            throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, $"the body is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            // GetString refuses a name or value that is not text: invalid UTF-8, a lone surrogate escaped.
            throw new KmsProxyException(KmsProxyFailure.NotKmsRequest, $"the body is not valid JSON text: {ex.Message}");
        }
    }
}

/// <summary>The proxy refuses a call or KMS's answer; the answer is <see cref="KmsProxyAnswer.Error"/>.</summary>
internal sealed class KmsProxyException(KmsProxyFailure failure, string reason) : Exception(reason)
{
    public KmsProxyFailure Failure { get; } = failure;
}

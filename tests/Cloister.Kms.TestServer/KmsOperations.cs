using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation.Verification;

namespace Cloister.Kms.TestServer;

/// <summary>
/// The actions, with the request and response members of the AWS KMS API Reference (API_Encrypt, API_Decrypt,
/// API_GenerateDataKey, API_GenerateDataKeyPair, API_DeriveSharedSecret, API_GenerateRandom, API_GetPublicKey,
/// API_DescribeKey). Blobs are base64 strings in JSON 1.1. With a <c>Recipient</c> (the five operations the Developer
/// Guide's "How to make attested calls to AWS KMS" lists) the plaintext member is left out and
/// <c>CiphertextForRecipient</c> carries it encrypted to the attestation document's public key.
/// Sources: https://docs.aws.amazon.com/kms/latest/APIReference/API_&lt;Action&gt;.html (Request Syntax, Response
/// Syntax, Errors) and https://docs.aws.amazon.com/kms/latest/developerguide/attested-calls.html ("the plaintext field
/// is null or empty").
/// </summary>
internal sealed class KmsOperations(KmsKeyStore keys, AttestationVerifier verifier)
{
    private const string RecipientAlgorithm = "RSAES_OAEP_SHA_256";
    private const string ConditionPrefix = "kms:RecipientAttestation:";
    private static readonly IReadOnlyDictionary<string, string> NoConditions = new Dictionary<string, string>();

    public KmsKeyStore Keys { get; } = keys;

    public ConcurrentDictionary<string, KeyPolicy> Policies { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> Calls { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> RecipientCalls { get; } = new(StringComparer.Ordinal);

    public volatile string? AnswerKeyId;

    public volatile byte[]? RecipientKeyOverride;

    public volatile byte[]? RecipientCiphertextOverride;

    public byte[] Handle(string action, byte[] body)
    {
        JsonElement request;
        try
        {
            using var document = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
            request = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new KmsErrorException("SerializationException", $"the request body is not JSON: {ex.Message}");
        }

        if (request.ValueKind != JsonValueKind.Object)
        {
            throw new KmsErrorException("SerializationException", "the request body is not a JSON object");
        }

        Func<JsonElement, Recipient?, Dictionary<string, object>> operation = action switch
        {
            "Encrypt" => Encrypt,
            "Decrypt" => Decrypt,
            "GenerateDataKey" => GenerateDataKey,
            "GenerateDataKeyPair" => GenerateDataKeyPair,
            "DeriveSharedSecret" => DeriveSharedSecret,
            "GenerateRandom" => GenerateRandom,
            "GetPublicKey" => GetPublicKey,
            "DescribeKey" => DescribeKey,
            _ => throw new KmsErrorException("UnknownOperationException", $"this test KMS does not implement {action}"),
        };
        Calls.AddOrUpdate(action, 1, (_, n) => n + 1);

        Recipient? recipient = null;
        if (request.TryGetProperty("Recipient", out var recipientElement) && recipientElement.ValueKind != JsonValueKind.Null)
        {
            if (action is "Encrypt" or "GetPublicKey" or "DescribeKey")
            {
                throw KmsErrorException.Validation($"{action} does not take a Recipient");
            }

            RecipientCalls.AddOrUpdate(action, 1, (_, n) => n + 1);
            recipient = ReadRecipient(recipientElement);
        }

        return JsonSerializer.SerializeToUtf8Bytes(operation(request, recipient));
    }

    private Dictionary<string, object> Encrypt(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("Encrypt", request, null, KmsTestKeySpec.SymmetricDefault);
        var plaintext = RequiredBlob(request, "Plaintext");
        if (plaintext.Length is < 1 or > 4096)
        {
            throw KmsErrorException.Validation("Plaintext must be 1 to 4096 bytes");
        }

        return new() { ["CiphertextBlob"] = KmsKeyStore.Encrypt(key, plaintext, Context(request)), ["KeyId"] = KeyId(key), ["EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT" };
    }

    private Dictionary<string, object> Decrypt(JsonElement request, Recipient? recipient)
    {
        CheckEncryptionAlgorithm(request);
        var (key, plaintext) = Keys.Decrypt(RequiredBlob(request, "CiphertextBlob"), Context(request));
        if (OptionalString(request, "KeyId") is { } asked && Keys.Resolve(asked) != key)
        {
            throw new KmsErrorException("IncorrectKeyException", "The key ID in the request does not identify the KMS key that encrypted the ciphertext.");
        }

        Authorize("Decrypt", key, recipient);
        var answer = new Dictionary<string, object> { ["KeyId"] = KeyId(key), ["EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT" };
        Release(answer, "Plaintext", plaintext, recipient);
        return answer;
    }

    private Dictionary<string, object> GenerateDataKey(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("GenerateDataKey", request, recipient, KmsTestKeySpec.SymmetricDefault);
        var keySpec = OptionalString(request, "KeySpec");
        var numberOfBytes = OptionalInt(request, "NumberOfBytes");
        var length = (keySpec, numberOfBytes) switch
        {
            ("AES_256", null) => 32,
            ("AES_128", null) => 16,
            (null, >= 1 and <= 1024) => numberOfBytes.Value,
            (null, null) => throw KmsErrorException.Validation("Please specify either number of bytes or key spec."),
            (null, _) => throw KmsErrorException.Validation("NumberOfBytes must be 1 to 1024"),
            (_, null) => throw KmsErrorException.Validation($"KeySpec '{keySpec}' is not AES_256 or AES_128"),
            _ => throw KmsErrorException.Validation("Please specify either number of bytes or key spec, not both."),
        };
        var plaintext = RandomNumberGenerator.GetBytes(length);
        var answer = new Dictionary<string, object> { ["CiphertextBlob"] = KmsKeyStore.Encrypt(key, plaintext, Context(request)), ["KeyId"] = KeyId(key) };
        Release(answer, "Plaintext", plaintext, recipient);
        return answer;
    }

    private Dictionary<string, object> GenerateDataKeyPair(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("GenerateDataKeyPair", request, recipient, KmsTestKeySpec.SymmetricDefault);
        var spec = OptionalString(request, "KeyPairSpec") ?? throw KmsErrorException.Validation("KeyPairSpec is required");
        AsymmetricAlgorithm pair = spec switch
        {
            "RSA_2048" => RSA.Create(2048),
            "RSA_3072" => RSA.Create(3072),
            "RSA_4096" => RSA.Create(4096),
            "ECC_NIST_P256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            "ECC_NIST_P384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            "ECC_NIST_P521" => ECDsa.Create(ECCurve.NamedCurves.nistP521),
            _ => throw KmsErrorException.Validation($"KeyPairSpec '{spec}' is not one this test KMS makes (RSA_2048/3072/4096, ECC_NIST_P256/P384/P521)"),
        };
        using (pair)
        {
            var privateKey = pair.ExportPkcs8PrivateKey();
            var answer = new Dictionary<string, object>
            {
                ["KeyId"] = KeyId(key),
                ["KeyPairSpec"] = spec,
                ["PrivateKeyCiphertextBlob"] = KmsKeyStore.Encrypt(key, privateKey, Context(request)),
                ["PublicKey"] = pair.ExportSubjectPublicKeyInfo(),
            };
            Release(answer, "PrivateKeyPlaintext", privateKey, recipient);
            return answer;
        }
    }

    private Dictionary<string, object> DeriveSharedSecret(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("DeriveSharedSecret", request, recipient, KmsTestKeySpec.EccNistP256KeyAgreement);
        if (OptionalString(request, "KeyAgreementAlgorithm") != "ECDH")
        {
            throw KmsErrorException.Validation("KeyAgreementAlgorithm must be ECDH");
        }

        using var peer = ECDiffieHellman.Create();
        try
        {
            peer.ImportSubjectPublicKeyInfo(RequiredBlob(request, "PublicKey"), out _);
        }
        catch (CryptographicException ex)
        {
            throw KmsErrorException.Validation($"PublicKey is not a DER SubjectPublicKeyInfo of an EC key: {ex.Message}");
        }

        if (peer.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            throw KmsErrorException.Validation("PublicKey is not on the KMS key's curve ECC_NIST_P256");
        }

        using var peerPublic = peer.PublicKey;
        var secret = key.DeriveSharedSecret(peerPublic);
        var answer = new Dictionary<string, object> { ["KeyId"] = KeyId(key), ["KeyAgreementAlgorithm"] = "ECDH", ["KeyOrigin"] = "AWS_KMS" };
        Release(answer, "SharedSecret", secret, recipient);
        return answer;
    }

    private Dictionary<string, object> GenerateRandom(JsonElement request, Recipient? recipient)
    {
        var length = OptionalInt(request, "NumberOfBytes");
        if (length is not (>= 1 and <= 1024))
        {
            throw KmsErrorException.Validation("NumberOfBytes must be 1 to 1024");
        }

        Authorize("GenerateRandom", "*", recipient);
        var answer = new Dictionary<string, object>();
        Release(answer, "Plaintext", RandomNumberGenerator.GetBytes(length.Value), recipient);
        return answer;
    }

    private Dictionary<string, object> GetPublicKey(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("GetPublicKey", request, null, null);
        if (key.PublicKey is null)
        {
            throw new KmsErrorException("UnsupportedOperationException", $"{key.Arn} is a symmetric key; it has no public key");
        }

        return new()
        {
            ["KeyId"] = KeyId(key),
            ["PublicKey"] = key.PublicKey,
            ["KeySpec"] = "ECC_NIST_P256",
            ["CustomerMasterKeySpec"] = "ECC_NIST_P256",
            ["KeyUsage"] = "KEY_AGREEMENT",
            ["KeyAgreementAlgorithms"] = new[] { "ECDH" },
        };
    }

    private Dictionary<string, object> DescribeKey(JsonElement request, Recipient? recipient)
    {
        var key = Authorize("DescribeKey", request, null, null);
        var symmetric = key.Definition.Spec == KmsTestKeySpec.SymmetricDefault;
        var metadata = new Dictionary<string, object>
        {
            ["KeyId"] = key.Definition.KeyId,
            ["Arn"] = key.Arn,
            ["Enabled"] = true,
            ["KeyState"] = "Enabled",
            ["KeyManager"] = "CUSTOMER",
            ["Origin"] = "AWS_KMS",
            ["MultiRegion"] = false,
            ["Description"] = string.Empty,
            ["KeySpec"] = symmetric ? "SYMMETRIC_DEFAULT" : "ECC_NIST_P256",
            ["CustomerMasterKeySpec"] = symmetric ? "SYMMETRIC_DEFAULT" : "ECC_NIST_P256",
            ["KeyUsage"] = symmetric ? "ENCRYPT_DECRYPT" : "KEY_AGREEMENT",
        };
        metadata[symmetric ? "EncryptionAlgorithms" : "KeyAgreementAlgorithms"] = symmetric ? new[] { "SYMMETRIC_DEFAULT" } : new[] { "ECDH" };
        return new() { ["KeyMetadata"] = metadata };
    }

    private KmsKey Authorize(string action, JsonElement request, Recipient? recipient, KmsTestKeySpec? spec)
    {
        var key = Keys.Resolve(OptionalString(request, "KeyId") ?? throw KmsErrorException.Validation("KeyId is required"));
        if (spec is { } wanted && key.Definition.Spec != wanted)
        {
            throw new KmsErrorException("InvalidKeyUsageException",
                $"{key.Arn} has key usage {(key.Definition.Spec == KmsTestKeySpec.SymmetricDefault ? "ENCRYPT_DECRYPT" : "KEY_AGREEMENT")}, which does not allow {action}");
        }

        Authorize(action, key, recipient);
        return key;
    }

    private void Authorize(string action, KmsKey key, Recipient? recipient) => Authorize(action, key.Arn, recipient);

    private void Authorize(string action, string resource, Recipient? recipient)
    {
        if (Policies.TryGetValue(resource, out var policy) &&
            policy.Refusal(action, resource, recipient?.Conditions ?? NoConditions) is { } reason)
        {
            throw new KmsErrorException("AccessDeniedException",
                $"User: arn:aws:iam::111122223333:user/cloister-test is not authorized to perform: kms:{action} on resource: {resource} because no resource-based policy allows the kms:{action} action ({reason})");
        }
    }

    private Recipient ReadRecipient(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw KmsErrorException.Validation("Recipient must be an object");
        }

        if (OptionalString(element, "KeyEncryptionAlgorithm") != RecipientAlgorithm)
        {
            throw KmsErrorException.Validation($"Recipient.KeyEncryptionAlgorithm must be {RecipientAlgorithm}");
        }

        var result = verifier.Verify(RequiredBlob(element, "AttestationDocument"));
        if (!result.IsValid)
        {
            throw KmsErrorException.Validation($"Recipient.AttestationDocument is not a valid attestation document: {result}");
        }

        var document = result.Document!.Document;
        var spki = document.PublicKey ?? throw KmsErrorException.Validation("Recipient.AttestationDocument has no public_key");
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length)
            {
                throw new CryptographicException("trailing bytes after the SubjectPublicKeyInfo");
            }
        }
        catch (CryptographicException ex)
        {
            throw KmsErrorException.Validation($"Recipient.AttestationDocument's public_key is not an RSA SubjectPublicKeyInfo: {ex.Message}");
        }

        var conditions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (index, value) in document.Pcrs)
        {
            conditions[ConditionPrefix + "PCR" + index.ToString(CultureInfo.InvariantCulture)] = Convert.ToHexStringLower(value);
        }

        if (document.Pcrs.TryGetValue(0, out var pcr0))
        {
            conditions[ConditionPrefix + "ImageSha384"] = Convert.ToHexStringLower(pcr0);
        }

        return new Recipient(spki, conditions);
    }

    private void Release(Dictionary<string, object> answer, string member, byte[] plaintext, Recipient? recipient)
    {
        if (recipient is null)
        {
            answer[member] = plaintext;
        }
        else
        {
            answer["CiphertextForRecipient"] = RecipientCiphertextOverride ?? RecipientEnvelope.Write(plaintext, RecipientKeyOverride ?? recipient.PublicKey);
        }
    }

    private string KeyId(KmsKey key) => AnswerKeyId ?? key.Arn;

    private static void CheckEncryptionAlgorithm(JsonElement request)
    {
        if (OptionalString(request, "EncryptionAlgorithm") is { } algorithm && algorithm != "SYMMETRIC_DEFAULT")
        {
            throw KmsErrorException.Validation($"EncryptionAlgorithm {algorithm} is not SYMMETRIC_DEFAULT, the only one a symmetric key has");
        }
    }

    private static Dictionary<string, string>? Context(JsonElement request)
    {
        if (!request.TryGetProperty("EncryptionContext", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw KmsErrorException.Validation("EncryptionContext must be a map of strings");
        }

        return element.EnumerateObject().ToDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw KmsErrorException.Validation($"EncryptionContext value of '{p.Name}' is not a string"),
            StringComparer.Ordinal);
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : throw KmsErrorException.Validation($"{name} must be a string")
            : null;

    private static int? OptionalInt(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.TryGetInt32(out var number) ? number : throw KmsErrorException.Validation($"{name} must be an integer")
            : null;

    private static byte[] RequiredBlob(JsonElement element, string name)
    {
        var text = OptionalString(element, name) ?? throw KmsErrorException.Validation($"{name} is required");
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new KmsErrorException("SerializationException", $"{name} is not base64");
        }
    }

    private sealed record Recipient(byte[] PublicKey, IReadOnlyDictionary<string, string> Conditions);
}

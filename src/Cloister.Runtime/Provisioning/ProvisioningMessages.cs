using System.Text.Json.Serialization;

namespace Cloister.Runtime.Provisioning;

/// <summary>The host's request for a token (<see cref="ProvisioningProtocol.TokensPath"/>).</summary>
public sealed class TokenRequest
{
    /// <summary>The deployment the enclave belongs to (its manifest's <c>provisioning.token_audience</c>).</summary>
    [JsonPropertyName("deployment")]
    public required string Deployment { get; init; }
}

/// <summary>The provisioner's answer to a <see cref="TokenRequest"/>.</summary>
public sealed class TokenResponse
{
    /// <summary>The token text (<see cref="ProvisioningToken"/>).</summary>
    [JsonPropertyName("token")]
    public required string Token { get; init; }

    /// <summary>When the token stops being redeemable.</summary>
    [JsonPropertyName("expires_at")]
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What the enclave sends to <see cref="ProvisioningProtocol.ProvisionPath"/>.</summary>
public sealed class ProvisionRequest
{
    /// <summary>The deployment the enclave asks to be provisioned for (its measured <c>provisioning.token_audience</c>).</summary>
    [JsonPropertyName("deployment")]
    public required string Deployment { get; init; }

    /// <summary>The host's token, whose SHA-384 the document's <c>user_data</c> holds.</summary>
    [JsonPropertyName("token")]
    public required string Token { get; init; }

    /// <summary>The COSE_Sign1 attestation document; its <c>public_key</c> is the DER SubjectPublicKeyInfo of the enclave's ephemeral P-384 key.</summary>
    [JsonPropertyName("attestation_document")]
    public required byte[] AttestationDocument { get; init; }
}

/// <summary>The provisioner's answer to a granted <see cref="ProvisionRequest"/>.</summary>
public sealed class ProvisionResponse
{
    /// <summary>A <see cref="ProvisioningEnvelope"/> sealed to the document's <c>public_key</c> with the token's hash as associated data; it opens to a <see cref="ProvisioningAnswer"/>.</summary>
    [JsonPropertyName("answer")]
    public required byte[] Answer { get; init; }
}

/// <summary>What a refused request (any status but 200) carries: <see cref="ProvisioningProtocol.Refused"/> or a usage error.</summary>
public sealed class ProvisioningError
{
    /// <summary>The error.</summary>
    [JsonPropertyName("error")]
    public required string Error { get; init; }
}

/// <summary>The plaintext of a <see cref="ProvisionResponse"/>: everything the enclave receives.</summary>
public sealed class ProvisioningAnswer
{
    /// <summary>The deployment the answer was made for; the enclave refuses an answer for another.</summary>
    [JsonPropertyName("deployment")]
    public required string Deployment { get; init; }

    /// <summary>The deployment's intermediate CA, with which the enclave issues its attested TLS leaves.</summary>
    [JsonPropertyName("ca")]
    public required ProvisionedCertificateAuthority CertificateAuthority { get; init; }

    /// <summary>The deployment's secrets, which become the app's environment, by name.</summary>
    [JsonPropertyName("secrets")]
    public required IReadOnlyList<ProvisionedSecret> Secrets { get; init; }

    /// <summary>The deployment's encryption keys, every version (the crypto API's; docs/encryption.md).</summary>
    [JsonPropertyName("keys")]
    public required ProvisionedKeyRing Keys { get; init; }
}

/// <summary>A deployment's key ring as the answer carries it: only ever inside an envelope sealed to an attested enclave.</summary>
public sealed class ProvisionedKeyRing
{
    /// <summary>The ring's key id, 16 hex digits (<c>Cloister.Encryption.Keys.DeploymentKeyId</c>).</summary>
    [JsonPropertyName("key_id")]
    public required string KeyId { get; init; }

    /// <summary>The version new ciphertexts use.</summary>
    [JsonPropertyName("current_version")]
    public required int CurrentVersion { get; init; }

    /// <summary>Every version, so ciphertexts made before a rotation still decrypt.</summary>
    [JsonPropertyName("versions")]
    public required IReadOnlyList<ProvisionedKey> Versions { get; init; }
}

/// <summary>One key version as the answer carries it.</summary>
public sealed class ProvisionedKey
{
    /// <summary>The version (1 and up).</summary>
    [JsonPropertyName("version")]
    public required int Version { get; init; }

    /// <summary>The P-384 private key, PKCS#8 DER (base64 in JSON).</summary>
    [JsonPropertyName("private_key")]
    public required byte[] PrivateKey { get; init; }

    /// <summary>The 32-byte data key (base64 in JSON).</summary>
    [JsonPropertyName("data_key")]
    public required byte[] DataKey { get; init; }
}

/// <summary>A deployment's intermediate CA as the answer carries it.</summary>
public sealed class ProvisionedCertificateAuthority
{
    /// <summary>The intermediate certificate (PEM), name-constrained to the deployment's hostnames.</summary>
    [JsonPropertyName("certificate")]
    public required string Certificate { get; init; }

    /// <summary>Its private key (PKCS#8 PEM).</summary>
    [JsonPropertyName("private_key")]
    public required string PrivateKey { get; init; }

    /// <summary>The certificates above it up to the provisioner's root, nearest first (PEM); clients trust the root.</summary>
    [JsonPropertyName("chain")]
    public required IReadOnlyList<string> Chain { get; init; }
}

/// <summary>One secret as the answer carries it.</summary>
public sealed class ProvisionedSecret
{
    /// <summary>The environment variable name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The value.</summary>
    [JsonPropertyName("value")]
    public required string Value { get; init; }

    /// <summary>The secret's version (1 for the first value set, one more for each later one).</summary>
    [JsonPropertyName("version")]
    public required int Version { get; init; }
}

/// <summary>Source-generated JSON for the provisioning messages, so the NativeAOT supervisor reads them without reflection.</summary>
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(ProvisionRequest))]
[JsonSerializable(typeof(ProvisionResponse))]
[JsonSerializable(typeof(ProvisioningError))]
[JsonSerializable(typeof(ProvisioningAnswer))]
[JsonSerializable(typeof(ProvisionedKeyRing))]
public sealed partial class ProvisioningJson : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace Cloister.Provisioner.Api;

/// <summary>The body of <c>PUT /v1/deployments/{name}</c>.</summary>
public sealed class DeploymentRequest
{
    /// <summary>The hostnames the deployment's CA is constrained to; required when the deployment is created; a different list makes a new CA.</summary>
    [JsonPropertyName("hostnames")]
    public IReadOnlyList<string>? Hostnames { get; init; }

    /// <summary>A PCR set to accept (<c>{"PCR0": hex, …}</c>, 48-byte values), added to the deployment's sets (or replacing them with <see cref="Replace"/>).</summary>
    [JsonPropertyName("pcr_set")]
    public IReadOnlyDictionary<string, string>? PcrSet { get; init; }

    /// <summary>Whether <see cref="PcrSet"/> replaces every existing set (a deploy that retires the old image) instead of joining them (a rolling deploy).</summary>
    [JsonPropertyName("replace")]
    public bool Replace { get; init; }

    /// <summary>Whether debug-mode enclaves may be provisioned; unchanged when absent (false for a new deployment).</summary>
    [JsonPropertyName("allow_debug")]
    public bool? AllowDebug { get; init; }
}

/// <summary>A deployment as the operator API shows it (never its CA key).</summary>
public sealed class DeploymentView
{
    /// <summary>The name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The hostnames its CA is constrained to.</summary>
    [JsonPropertyName("hostnames")]
    public required IReadOnlyList<string> Hostnames { get; init; }

    /// <summary>The accepted PCR sets.</summary>
    [JsonPropertyName("pcr_sets")]
    public required IReadOnlyList<IReadOnlyDictionary<string, string>> PcrSets { get; init; }

    /// <summary>Whether debug-mode enclaves may be provisioned.</summary>
    [JsonPropertyName("allow_debug")]
    public required bool AllowDebug { get; init; }

    /// <summary>The intermediate CA certificate (PEM).</summary>
    [JsonPropertyName("ca_certificate")]
    public required string CaCertificate { get; init; }
}

/// <summary>
/// The answer to <c>GET /v1/deployments/{name}/keys</c> and <c>POST /v1/deployments/{name}/keys/rotate</c>: the public
/// halves only. No operator API ever returns a private or data key.
/// </summary>
public sealed class DeploymentKeysView
{
    /// <summary>The deployment.</summary>
    [JsonPropertyName("deployment")]
    public required string Deployment { get; init; }

    /// <summary>Its key id, 16 hex digits.</summary>
    [JsonPropertyName("key_id")]
    public required string KeyId { get; init; }

    /// <summary>The version new ciphertexts use.</summary>
    [JsonPropertyName("current_version")]
    public required int CurrentVersion { get; init; }

    /// <summary>Every version, oldest first.</summary>
    [JsonPropertyName("versions")]
    public required IReadOnlyList<PublicKeyVersion> Versions { get; init; }
}

/// <summary>One key version's public half.</summary>
public sealed class PublicKeyVersion
{
    /// <summary>The version.</summary>
    [JsonPropertyName("version")]
    public required int Version { get; init; }

    /// <summary>The DER SubjectPublicKeyInfo of the P-384 key (base64 in JSON).</summary>
    [JsonPropertyName("public_key")]
    public required byte[] PublicKey { get; init; }

    /// <summary>The SHA-256 of <see cref="PublicKey"/>, hex.</summary>
    [JsonPropertyName("fingerprint")]
    public required string Fingerprint { get; init; }

    /// <summary>When the version was made.</summary>
    [JsonPropertyName("created_at")]
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The answer to <c>PUT /v1/deployments/{name}/secrets/{secret}</c>.</summary>
public sealed class SecretVersion
{
    /// <summary>The secret's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The version just written.</summary>
    [JsonPropertyName("version")]
    public required int Version { get; init; }
}

/// <summary>One secret of <c>GET /v1/deployments/{name}/secrets</c>: never its value.</summary>
public sealed class SecretListing
{
    /// <summary>The name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The current version.</summary>
    [JsonPropertyName("version")]
    public required int Version { get; init; }

    /// <summary>When it was last set.</summary>
    [JsonPropertyName("updated_at")]
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>The answer to <c>GET /v1/deployments/{name}/secrets</c>.</summary>
public sealed class SecretList
{
    /// <summary>The secrets, by name.</summary>
    [JsonPropertyName("secrets")]
    public required IReadOnlyList<SecretListing> Secrets { get; init; }
}

/// <summary>The body of <c>POST /v1/hosts</c>.</summary>
public sealed class HostRequest
{
    /// <summary>The host's name (letters, digits, '.', '_', '-'; at most 63).</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>A PKCS#10 request (PEM) for the host's key (EC P-256/P-384 or RSA ≥ 2048).</summary>
    [JsonPropertyName("csr")]
    public required string Csr { get; init; }
}

/// <summary>The answer to <c>POST /v1/hosts</c>.</summary>
public sealed class HostCertificate
{
    /// <summary>The host's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Its certificate (PEM), OU=host, issued by the client CA.</summary>
    [JsonPropertyName("certificate")]
    public required string Certificate { get; init; }
}

/// <summary>One audit entry as <c>GET /v1/audit</c> shows it.</summary>
public sealed class AuditView
{
    /// <summary>Its position; pass the last one seen as <c>after</c> to read on.</summary>
    [JsonPropertyName("id")]
    public required long Id { get; init; }

    /// <summary>When.</summary>
    [JsonPropertyName("at")]
    public required DateTimeOffset At { get; init; }

    /// <summary><c>operator:&lt;CN&gt;</c>, <c>host:&lt;CN&gt;</c> or <c>enclave</c>.</summary>
    [JsonPropertyName("actor")]
    public required string Actor { get; init; }

    /// <summary>What was done.</summary>
    [JsonPropertyName("action")]
    public required string Action { get; init; }

    /// <summary>The deployment, if any.</summary>
    [JsonPropertyName("deployment")]
    public string? Deployment { get; init; }

    /// <summary>The host, if any.</summary>
    [JsonPropertyName("host")]
    public string? Host { get; init; }

    /// <summary><c>granted</c>, <c>refused</c> or <c>done</c>.</summary>
    [JsonPropertyName("outcome")]
    public required string Outcome { get; init; }

    /// <summary>The refusal reason (its name, a colon, the detail) or what changed.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    /// <summary>The document's PCRs 0–4 and 8 (<c>i=hex</c>, comma-separated), for provisioning requests.</summary>
    [JsonPropertyName("pcrs")]
    public string? Pcrs { get; init; }
}

/// <summary>The answer to <c>GET /v1/audit</c>.</summary>
public sealed class AuditPage
{
    /// <summary>The entries, oldest first.</summary>
    [JsonPropertyName("entries")]
    public required IReadOnlyList<AuditView> Entries { get; init; }
}

/// <summary>Source-generated JSON for the operator API's messages.</summary>
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DeploymentRequest))]
[JsonSerializable(typeof(DeploymentView))]
[JsonSerializable(typeof(SecretVersion))]
[JsonSerializable(typeof(DeploymentKeysView))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(HostRequest))]
[JsonSerializable(typeof(HostCertificate))]
[JsonSerializable(typeof(AuditPage))]
public sealed partial class OperatorJson : JsonSerializerContext;

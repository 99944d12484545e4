using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Cli.Provisioning;

/// <summary>The body of <c>PUT /v1/deployments/{name}</c> (docs/provisioning.md, "Operator API").</summary>
internal sealed class DeploymentUpdate
{
    [JsonPropertyName("hostnames")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Hostnames { get; init; }

    [JsonPropertyName("pcr_set")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? PcrSet { get; init; }

    [JsonPropertyName("replace")]
    public bool Replace { get; init; }

    [JsonPropertyName("allow_debug")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? AllowDebug { get; init; }
}

/// <summary>A deployment as the provisioner describes it.</summary>
internal sealed class DeploymentInfo
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("hostnames")]
    public required IReadOnlyList<string> Hostnames { get; init; }

    [JsonPropertyName("pcr_sets")]
    public required IReadOnlyList<IReadOnlyDictionary<string, string>> PcrSets { get; init; }

    [JsonPropertyName("allow_debug")]
    public required bool AllowDebug { get; init; }

    [JsonPropertyName("ca_certificate")]
    public string? CaCertificate { get; init; }
}

/// <summary>The answer to a secret's write: its name and new version.</summary>
internal sealed class SecretVersion
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("version")]
    public required int Version { get; init; }
}

/// <summary>A secret as the list shows it: never its value.</summary>
internal sealed class SecretSummary
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("version")]
    public required int Version { get; init; }

    [JsonPropertyName("updated_at")]
    public required DateTimeOffset UpdatedAt { get; init; }
}

internal sealed class SecretList
{
    [JsonPropertyName("secrets")]
    public required IReadOnlyList<SecretSummary> Secrets { get; init; }
}

/// <summary>The body of <c>POST /v1/hosts</c>.</summary>
internal sealed class HostRequest
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("csr")]
    public required string Csr { get; init; }
}

/// <summary>The provisioner's answer to a <see cref="HostRequest"/>: the issued certificate.</summary>
internal sealed class HostCertificate
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("certificate")]
    public required string Certificate { get; init; }
}

/// <summary>One entry of the audit log, kept as the provisioner wrote it so <c>--json</c> prints every field.</summary>
internal sealed class AuditEntry
{
    [JsonPropertyName("id")]
    public required long Id { get; init; }

    [JsonPropertyName("at")]
    public required DateTimeOffset At { get; init; }

    [JsonPropertyName("actor")]
    public string? Actor { get; init; }

    [JsonPropertyName("action")]
    public required string Action { get; init; }

    [JsonPropertyName("deployment")]
    public string? Deployment { get; init; }

    [JsonPropertyName("host")]
    public string? Host { get; init; }

    [JsonPropertyName("outcome")]
    public string? Outcome { get; init; }

    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    [JsonPropertyName("pcrs")]
    public JsonElement? Pcrs { get; init; }

    // Fields later versions add are carried through to --json rather than dropped.
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; init; }
}

internal sealed class AuditPage
{
    [JsonPropertyName("entries")]
    public required IReadOnlyList<AuditEntry> Entries { get; init; }
}

/// <summary>Source-generated JSON for the operator API's messages. Answers may carry fields this CLI does not know.</summary>
[JsonSourceGenerationOptions(RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true, WriteIndented = true)]
[JsonSerializable(typeof(DeploymentUpdate))]
[JsonSerializable(typeof(DeploymentInfo))]
[JsonSerializable(typeof(SecretVersion))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(HostRequest))]
[JsonSerializable(typeof(HostCertificate))]
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(IReadOnlyList<AuditEntry>))]
internal sealed partial class OperatorJson : JsonSerializerContext;

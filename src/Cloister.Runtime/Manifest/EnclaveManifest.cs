using System.Collections.ObjectModel;
using System.Text.Json.Serialization;

namespace Cloister.Runtime.Manifest;

/// <summary>
/// What an enclave's owner declares in <c>enclave.yaml</c>: the image, how it runs, and what may reach in and out.
/// Built by the manifest reader after validation; immutable.
/// </summary>
/// <remarks>Every default below is the one the manifest's JSON Schema (<c>docs/enclave.schema.json</c>) documents.</remarks>
public sealed class EnclaveManifest
{
    /// <summary>The enclave's name: a DNS label, used for the EIF's file name and in logs.</summary>
    public required string Name { get; init; }

    /// <summary>The container image reference the enclave is built from.</summary>
    public required string Image { get; init; }

    /// <summary>Replaces the image's ENTRYPOINT when set.</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>Replaces the image's CMD when set.</summary>
    public IReadOnlyList<string>? Cmd { get; init; }

    /// <summary>Variables added to (or replacing those of) the image's environment.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = ReadOnlyDictionary<string, string>.Empty;

    /// <summary>CPUs and memory given to the enclave.</summary>
    public EnclaveResources Resources { get; init; } = new();

    /// <summary>The ports the host exposes and forwards into the enclave.</summary>
    public IReadOnlyList<IngressPort> Ingress { get; init; } = [];

    /// <summary>Which destinations the app may reach; with no allow rules, none.</summary>
    public EgressRules Egress { get; init; } = new();

    /// <summary>The in-enclave local API.</summary>
    public LocalApiSettings Api { get; init; } = new();

    /// <summary>Where the enclave fetches its CA, secrets and data keys, or <see langword="null"/> for a standalone enclave.</summary>
    public ProvisioningSettings? Provisioning { get; init; }

    /// <summary>The AWS KMS proxy, or <see langword="null"/> when the app does not use KMS.</summary>
    public KmsProxySettings? KmsProxy { get; init; }

    /// <summary>The app's health check, or <see langword="null"/> for none.</summary>
    public HealthCheck? Health { get; init; }

    /// <summary>What the supervisor does when the app exits.</summary>
    public RestartPolicy Restart { get; init; } = RestartPolicy.Never;
}

/// <summary>Resources of the enclave; Nitro takes whole CPUs and memory in MiB.</summary>
public sealed class EnclaveResources
{
    /// <summary>Default CPU count: Nitro's smallest enclave.</summary>
    public const int DefaultCpus = 2;

    /// <summary>Default memory: enough for the supervisor and a small app with its ramdisk unpacked.</summary>
    public const int DefaultMemoryMib = 2048;

    /// <summary>vCPUs; at least 1.</summary>
    public int Cpus { get; init; } = DefaultCpus;

    /// <summary>Memory in MiB; at least 64.</summary>
    public int MemoryMib { get; init; } = DefaultMemoryMib;
}

/// <summary>How an ingress port treats TLS.</summary>
public enum IngressTls
{
    /// <summary>The supervisor terminates TLS inside the enclave with a certificate bound to the attestation document.</summary>
    [JsonStringEnumMemberName("attested")]
    Attested,

    /// <summary>Bytes are piped to the app untouched; the app speaks TLS (or not) itself.</summary>
    [JsonStringEnumMemberName("passthrough")]
    Passthrough,
}

/// <summary>One port the host listens on and pipes into the enclave.</summary>
public sealed class IngressPort
{
    /// <summary>The TCP port on the host, which is also the enclave's vsock port.</summary>
    public required int Port { get; init; }

    /// <summary>The app's TCP port on 127.0.0.1 inside the enclave; defaults to <see cref="Port"/>.</summary>
    public required int AppPort { get; init; }

    /// <summary>How TLS is handled; attested by default.</summary>
    public IngressTls Tls { get; init; } = IngressTls.Attested;

    /// <summary>The names the service answers to; they lead the attested certificate's SANs.</summary>
    public IReadOnlyList<string> Hostnames { get; init; } = [];
}

/// <summary>The egress allow and deny lists, as written; see <see cref="Cloister.Runtime.Egress.EgressPolicy"/>.</summary>
public sealed class EgressRules
{
    /// <summary>
    /// The port of the CONNECT proxy the supervisor runs on 127.0.0.1 inside every enclave: the app's only way out,
    /// so no other in-enclave listener may take it.
    /// </summary>
    public const int ProxyPort = 3128;

    /// <summary>Destinations the app may reach.</summary>
    public IReadOnlyList<string> Allow { get; init; } = [];

    /// <summary>Destinations refused even when an allow rule matches.</summary>
    public IReadOnlyList<string> Deny { get; init; } = [];
}

/// <summary>The local API on 127.0.0.1 inside the enclave.</summary>
public sealed class LocalApiSettings
{
    /// <summary>The port Evervault Cages uses, so their clients work unchanged.</summary>
    public const int DefaultPort = 9999;

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Whether <c>POST /attestation-doc</c> is served.</summary>
    public bool Attestation { get; init; } = true;

    /// <summary>Whether <c>/encrypt</c> and <c>/decrypt</c> are served (needs provisioning for the data keys).</summary>
    public bool Crypto { get; init; }
}

/// <summary>The provisioner the enclave fetches its CA, secrets and data keys from.</summary>
public sealed class ProvisioningSettings
{
    /// <summary>The provisioner's HTTPS URL.</summary>
    public required Uri Url { get; init; }

    /// <summary>SHA-256 of the provisioner's SubjectPublicKeyInfo (32 bytes); the TLS connection is pinned to it.</summary>
    public required byte[] PinnedSha256 { get; init; }

    /// <summary>The audience the host token must name.</summary>
    public required string TokenAudience { get; init; }
}

/// <summary>The AWS KMS proxy inside the enclave.</summary>
public sealed class KmsProxySettings
{
    /// <summary>The port Enclaver uses for the same proxy.</summary>
    public const int DefaultPort = 9000;

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The AWS region of the KMS endpoint, e.g. <c>us-east-1</c>.</summary>
    public required string Region { get; init; }

    /// <summary>
    /// The KMS actions the app may call through the proxy, as named in <c>X-Amz-Target</c> after <c>TrentService.</c>
    /// (e.g. <c>Decrypt</c>); every other action is refused. Never empty.
    /// </summary>
    public required IReadOnlyList<string> Allow { get; init; }

    /// <summary>The key ARNs or alias ARNs/names (<c>alias/…</c>) the app may name as <c>KeyId</c>; every other key is refused. Never empty.</summary>
    public required IReadOnlyList<string> Keys { get; init; }

    /// <summary>The KMS endpoint (<c>https://host[:port]</c>), or <see langword="null"/> for <c>https://kms.REGION.amazonaws.com</c>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>
    /// An absolute path in the image to PEM certificates that the endpoint's TLS chain must end in, or
    /// <see langword="null"/> for the Amazon Trust Services roots built into the supervisor.
    /// </summary>
    public string? CaFile { get; init; }
}

/// <summary>An HTTP health check of the app, probed inside the enclave.</summary>
public sealed class HealthCheck
{
    /// <summary>The path requested, starting with <c>/</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The app port probed; defaults to the first ingress port's app port.</summary>
    public required int Port { get; init; }
}

/// <summary>What the enclave supervisor does when the app exits.</summary>
public enum RestartPolicy
{
    /// <summary>The enclave stops and the app's exit code becomes <c>cloister run</c>'s.</summary>
    [JsonStringEnumMemberName("never")]
    Never,

    /// <summary>Restart after a non-zero exit or a signal; a clean exit stops the enclave.</summary>
    [JsonStringEnumMemberName("on-failure")]
    OnFailure,

    /// <summary>Restart after every exit.</summary>
    [JsonStringEnumMemberName("always")]
    Always,
}

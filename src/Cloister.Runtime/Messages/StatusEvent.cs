using System.Text.Json.Serialization;

namespace Cloister.Runtime.Messages;

/// <summary>
/// One line of the status stream the enclave supervisor sends to the host on vsock port 7000: a JSON object whose
/// first member, <c>"event"</c>, names the kind, e.g. <c>{"event":"exited","code":3,"signal":null}</c>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(BootingEvent), "booting")]
[JsonDerivedType(typeof(ProvisionedEvent), "provisioned")]
[JsonDerivedType(typeof(ProvisioningRefusedEvent), "provisioning_refused")]
[JsonDerivedType(typeof(ReadyEvent), "ready")]
[JsonDerivedType(typeof(ExitedEvent), "exited")]
[JsonDerivedType(typeof(RestartingEvent), "restarting")]
[JsonDerivedType(typeof(HealthEvent), "health")]
public abstract record StatusEvent;

/// <summary><c>{"event":"booting"}</c>: the supervisor started and is preparing the app.</summary>
public sealed record BootingEvent : StatusEvent;

/// <summary><c>{"event":"provisioned"}</c>: the provisioner released the CA, secrets and keys to this enclave.</summary>
public sealed record ProvisionedEvent : StatusEvent;

/// <summary>
/// <c>{"event":"provisioning_refused","reason":"refused"}</c>: provisioning failed for good (the provisioner refused, its key
/// does not match the pin, or it stayed unreachable); the app is never started and <c>exited</c> follows.
/// </summary>
/// <param name="Reason">Why, in one line; never a secret.</param>
public sealed record ProvisioningRefusedEvent(string Reason) : StatusEvent;

/// <summary><c>{"event":"ready"}</c>: the app runs and ingress is being served.</summary>
public sealed record ReadyEvent : StatusEvent;

/// <summary>
/// <c>{"event":"exited","code":3,"signal":null}</c>: the app ended, either with an exit code (0–255) or killed by a signal
/// (1–64); exactly one of the two is set.
/// </summary>
/// <param name="Code">The exit code, or <see langword="null"/> when a signal ended the app.</param>
/// <param name="Signal">The signal number, or <see langword="null"/> when the app exited by itself.</param>
public sealed record ExitedEvent(int? Code, int? Signal) : StatusEvent;

/// <summary>
/// <c>{"event":"restarting","restart":1,"code":3,"signal":null,"delay_ms":1000}</c>: the app ended as in
/// <see cref="ExitedEvent"/>, and the manifest's restart policy starts it again after <paramref name="DelayMs"/>; the
/// supervisor keeps running. <c>exited</c> is only ever the last event.
/// </summary>
/// <param name="Restart">Which restart this is, counting from 1 since the supervisor started.</param>
/// <param name="Code">The exit code, or <see langword="null"/> when a signal ended the app.</param>
/// <param name="Signal">The signal number, or <see langword="null"/> when the app exited by itself.</param>
/// <param name="DelayMs">The back-off before the app is started again, in milliseconds.</param>
public sealed record RestartingEvent(int Restart, int? Code, int? Signal, int DelayMs) : StatusEvent;

/// <summary><c>{"event":"health","ok":true,"detail":"200 OK"}</c>: the outcome of one health probe.</summary>
/// <param name="Ok">Whether the app is healthy.</param>
/// <param name="Detail">What the probe saw, or <see langword="null"/>.</param>
public sealed record HealthEvent(bool Ok, string? Detail) : StatusEvent;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(StatusEvent))]
internal sealed partial class StatusEventJsonContext : JsonSerializerContext;

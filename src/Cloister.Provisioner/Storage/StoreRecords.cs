namespace Cloister.Provisioner.Storage;

/// <summary>A deployment as stored: its names, PCR sets and intermediate CA (the key sealed at rest).</summary>
/// <param name="Name">The deployment's name (the manifest's <c>provisioning.token_audience</c>).</param>
/// <param name="Hostnames">The DNS names its CA is constrained to.</param>
/// <param name="AllowDebug">Whether a debug-mode enclave may be provisioned.</param>
/// <param name="PcrSets">The accepted PCR sets (any one matches), each PCR index to its value.</param>
/// <param name="CaCertificatePem">The intermediate CA certificate (PEM).</param>
/// <param name="SealedCaKey">Its PKCS#8 private key, sealed with the storage key (associated data <c>ca/&lt;name&gt;/&lt;thumbprint&gt;</c>).</param>
public sealed record DeploymentRecord(
    string Name,
    IReadOnlyList<string> Hostnames,
    bool AllowDebug,
    IReadOnlyList<IReadOnlyDictionary<int, byte[]>> PcrSets,
    string CaCertificatePem,
    byte[] SealedCaKey);

/// <summary>A secret's name, version and when it was last set; never its value.</summary>
/// <param name="Name">The environment variable name.</param>
/// <param name="Version">1 for the first value, one more for each later one.</param>
/// <param name="UpdatedAt">When the current version was written.</param>
public sealed record SecretInfo(string Name, int Version, DateTimeOffset UpdatedAt);

/// <summary>A secret's current version with its sealed value (associated data <c>secret/&lt;deployment&gt;/&lt;name&gt;/&lt;version&gt;</c>).</summary>
/// <param name="Name">The environment variable name.</param>
/// <param name="Version">Its version.</param>
/// <param name="SealedValue">The value, sealed with the storage key.</param>
public sealed record SealedSecret(string Name, int Version, byte[] SealedValue);

/// <summary>One version of a deployment's encryption keys as stored: its public half in the clear, the rest sealed.</summary>
/// <param name="Deployment">The deployment.</param>
/// <param name="KeyId">The ring's key id, 16 hex digits, the same for every version of the deployment.</param>
/// <param name="Version">1 for the first keys, one more for each rotation.</param>
/// <param name="PublicKey">The P-384 public key, DER SubjectPublicKeyInfo.</param>
/// <param name="SealedPrivateKey">The PKCS#8 private key, sealed with the storage key (<see cref="AtRest.StorageBinding.KeyPrivate"/>).</param>
/// <param name="SealedDataKey">The 32-byte data key, sealed with the storage key (<see cref="AtRest.StorageBinding.KeyData"/>).</param>
/// <param name="CreatedAt">When the version was made.</param>
public sealed record SealedKeyVersion(
    string Deployment, string KeyId, int Version, byte[] PublicKey, byte[] SealedPrivateKey, byte[] SealedDataKey, DateTimeOffset CreatedAt);

/// <summary>A host allowed to ask for tokens, with the certificate it was issued.</summary>
/// <param name="Name">The host's name (its certificate's CN).</param>
/// <param name="CertificateSerial">The issued certificate's serial number (hex).</param>
/// <param name="CertificateThumbprint">The SHA-256 of the issued certificate (hex); a request must present exactly it.</param>
/// <param name="CreatedAt">When it was added.</param>
/// <param name="RevokedAt">When it was revoked, or <see langword="null"/>.</param>
public sealed record HostRecord(string Name, string CertificateSerial, string CertificateThumbprint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>An issued token, recorded so that it is redeemed once.</summary>
/// <param name="Id">The token's unique id.</param>
/// <param name="Deployment">The deployment it names.</param>
/// <param name="Host">The host it was issued to.</param>
/// <param name="IssuedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it stops being redeemable.</param>
public sealed record TokenRecord(string Id, string Deployment, string Host, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>One line of the append-only audit log; it never holds a value.</summary>
/// <param name="Id">Its position (assigned by the store; 0 before it is appended).</param>
/// <param name="At">When it happened.</param>
/// <param name="Actor">Who acted: <c>operator:&lt;CN&gt;</c>, <c>host:&lt;CN&gt;</c> or <c>enclave</c>.</param>
/// <param name="Action">What was done (<c>provision</c>, <c>token</c>, <c>deployment.put</c>, <c>secret.set</c>, …).</param>
/// <param name="Deployment">The deployment concerned, if any.</param>
/// <param name="Host">The host concerned, if any.</param>
/// <param name="Outcome"><c>granted</c> or <c>refused</c> (or <c>done</c> for operator actions).</param>
/// <param name="Reason">Why it was refused, or what changed (a secret's name and version), if anything.</param>
/// <param name="Pcrs">The PCRs a provisioning document carried, if any.</param>
public sealed record AuditEntry(
    long Id, DateTimeOffset At, string Actor, string Action, string? Deployment, string? Host, string Outcome, string? Reason, string? Pcrs);

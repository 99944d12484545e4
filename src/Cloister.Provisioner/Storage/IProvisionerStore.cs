namespace Cloister.Provisioner.Storage;

/// <summary>
/// Where the provisioner keeps its state. Every write is committed durably before its task completes; the
/// implementations (<see cref="SqliteProvisionerStore"/>, <see cref="PostgresProvisionerStore"/>) are thread-safe, and
/// several processes may share one PostgreSQL database.
/// </summary>
/// <remarks>Database failures surface as <see cref="System.Data.Common.DbException"/>.</remarks>
public interface IProvisionerStore : IAsyncDisposable
{
    /// <summary>Applies the schema migrations not yet applied, each once, in its own transaction.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The schema version now.</returns>
    Task<int> MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>A deployment, or <see langword="null"/> when there is none of that name.</summary>
    Task<DeploymentRecord?> GetDeploymentAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Creates a deployment or replaces all of its fields (PCR sets included) in one transaction.</summary>
    Task PutDeploymentAsync(DeploymentRecord deployment, CancellationToken cancellationToken = default);

    /// <summary>Replaces a deployment's CA if it is still <paramref name="currentCertificatePem"/> (so concurrent renewals and operator changes are not lost).</summary>
    /// <returns>Whether it was replaced.</returns>
    Task<bool> ReplaceCertificateAuthorityAsync(string deployment, string currentCertificatePem, string certificatePem, byte[] sealedKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets a secret to a new version: <paramref name="seal"/> is given the version number the value will have (so it
    /// can be bound to it) and returns the sealed value.
    /// </summary>
    /// <returns>The new version; 1 for a new secret.</returns>
    /// <exception cref="InvalidOperationException">The deployment does not exist.</exception>
    Task<int> SetSecretAsync(string deployment, string name, Func<int, byte[]> seal, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>The names, versions and times of a deployment's secrets, by name.</summary>
    Task<IReadOnlyList<SecretInfo>> ListSecretsAsync(string deployment, CancellationToken cancellationToken = default);

    /// <summary>The current versions of a deployment's secrets with their sealed values, by name.</summary>
    Task<IReadOnlyList<SealedSecret>> GetSecretsAsync(string deployment, CancellationToken cancellationToken = default);

    /// <summary>Removes a secret (every trace of its value).</summary>
    /// <returns>Whether it existed.</returns>
    Task<bool> RemoveSecretAsync(string deployment, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a key version if it is the deployment's next one (1 when it has none, otherwise one more than its highest)
    /// and has the key id of the versions before it. Atomic across every process on one database: of writers racing
    /// for one version exactly one succeeds.
    /// </summary>
    /// <returns>Whether it was added; <see langword="false"/> when the version is not the next one (another writer took it) or the key id differs.</returns>
    /// <exception cref="InvalidOperationException">The deployment does not exist.</exception>
    Task<bool> AddKeyVersionAsync(SealedKeyVersion key, CancellationToken cancellationToken = default);

    /// <summary>Every key version of a deployment, oldest first (empty when it has none yet).</summary>
    Task<IReadOnlyList<SealedKeyVersion>> GetKeyVersionsAsync(string deployment, CancellationToken cancellationToken = default);

    /// <summary>Adds a host.</summary>
    /// <returns><see langword="false"/> when a host of that name exists (revoked or not).</returns>
    Task<bool> AddHostAsync(HostRecord host, CancellationToken cancellationToken = default);

    /// <summary>A host, or <see langword="null"/>.</summary>
    Task<HostRecord?> GetHostAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Revokes a host (once; a later call keeps the first time).</summary>
    /// <returns>Whether the host exists.</returns>
    Task<bool> RevokeHostAsync(string name, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Records an issued token (and forgets tokens expired long before it).</summary>
    Task AddTokenAsync(TokenRecord token, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks a token redeemed if it was issued and never redeemed: atomic, so across every process on one database
    /// exactly one caller gets <see langword="true"/> for a token.
    /// </summary>
    Task<bool> RedeemTokenAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Appends to the audit log.</summary>
    /// <returns>The entry's id.</returns>
    Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Audit entries with an id above <paramref name="afterId"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(long afterId, int limit, CancellationToken cancellationToken = default);
}

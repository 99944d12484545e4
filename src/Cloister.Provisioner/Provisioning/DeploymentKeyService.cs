using System.Globalization;
using System.Security.Cryptography;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.AtRest;
using Cloister.Provisioner.Storage;
using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Provisioning;

/// <summary>
/// A deployment's encryption keys in the provisioner: made (version 1 with a new key id) when the deployment is
/// created or, for one created before keys existed, when they are first needed; rotated to a new version on the
/// operator's request; sealed at rest; shown only as public halves; released unsealed only into a provisioning answer.
/// </summary>
internal sealed class DeploymentKeyService
{
    private readonly IStorageKey _storageKey;
    private readonly IProvisionerStore _store;
    private readonly TimeProvider _time;

    public DeploymentKeyService(IStorageKey storageKey, IProvisionerStore store, TimeProvider time)
    {
        _storageKey = storageKey;
        _store = store;
        _time = time;
    }

    /// <summary>The deployment's key versions, oldest first, after making version 1 if it has none.</summary>
    /// <returns>The versions, and whether this call made version 1 (of callers racing, exactly one did).</returns>
    /// <exception cref="InvalidOperationException">The deployment does not exist.</exception>
    /// <exception cref="System.Data.Common.DbException">The store failed.</exception>
    public async Task<(IReadOnlyList<SealedKeyVersion> Versions, bool Created)> EnsureAsync(string deployment, CancellationToken cancellationToken)
    {
        var versions = await _store.GetKeyVersionsAsync(deployment, cancellationToken).ConfigureAwait(false);
        if (versions.Count > 0)
        {
            return (versions, false);
        }

        // When another request makes version 1 first, this one's key id loses and the ring read next is the winner's.
        var created = await AddAsync(deployment, DeploymentKeyId.New().ToString(), 1, cancellationToken).ConfigureAwait(false);
        return (await _store.GetKeyVersionsAsync(deployment, cancellationToken).ConfigureAwait(false), created);
    }

    /// <summary>Adds the version after the highest, with a new key pair and data key; concurrent rotations each get their own version.</summary>
    /// <returns>The new version.</returns>
    /// <exception cref="InvalidOperationException">The deployment does not exist or has no keys yet (<see cref="EnsureAsync"/> first).</exception>
    /// <exception cref="System.Data.Common.DbException">The store failed.</exception>
    public async Task<int> RotateAsync(string deployment, CancellationToken cancellationToken)
    {
        while (true)
        {
            var versions = await _store.GetKeyVersionsAsync(deployment, cancellationToken).ConfigureAwait(false);
            var current = versions.Count > 0 ? versions[^1] : throw new InvalidOperationException($"deployment '{deployment}' has no keys to rotate");
            var next = checked(current.Version + 1);
            if (await AddAsync(deployment, current.KeyId, next, cancellationToken).ConfigureAwait(false))
            {
                return next;
            }

            // Another rotation took that version: each loss means one more version exists, so this ends.
        }
    }

    /// <summary>The public halves, each checked against its sealed private key first, so a public key replaced in the database is never shown.</summary>
    /// <param name="deployment">The deployment.</param>
    /// <param name="versions">Its versions, oldest first (at least one).</param>
    /// <returns>The view.</returns>
    /// <exception cref="CryptographicException">A stored version does not open with the storage key and its public key.</exception>
    /// <exception cref="FormatException">A stored public key or key id is not one.</exception>
    public DeploymentKeysView View(string deployment, IReadOnlyList<SealedKeyVersion> versions) => new()
    {
        Deployment = deployment,
        KeyId = versions[0].KeyId,
        CurrentVersion = versions[^1].Version,
        Versions = [.. versions.Select(version =>
        {
            CryptographicOperations.ZeroMemory(OpenPrivateKey(version));
            return new PublicKeyVersion
            {
                Version = version.Version,
                PublicKey = version.PublicKey,
                Fingerprint = PublicKeyOf(version).Fingerprint,
                CreatedAt = version.CreatedAt,
            };
        })],
    };

    /// <summary>Every version unsealed for a provisioning answer; the caller erases the keys once it has serialized them.</summary>
    /// <param name="versions">The deployment's versions, oldest first (at least one).</param>
    /// <returns>The ring as the answer carries it; the current version is the highest.</returns>
    /// <exception cref="CryptographicException">A stored version does not open with the storage key.</exception>
    public ProvisionedKeyRing Unseal(IReadOnlyList<SealedKeyVersion> versions) => new()
    {
        KeyId = versions[0].KeyId,
        CurrentVersion = versions[^1].Version,
        Versions = [.. versions.Select(version => new ProvisionedKey
        {
            Version = version.Version,
            PrivateKey = OpenPrivateKey(version),
            DataKey = _storageKey.Open(version.SealedDataKey, StorageBinding.KeyData(version.Deployment, version.KeyId, version.Version, version.PublicKey)),
        })],
    };

    /// <summary>One line for the audit log: the version, its key id and fingerprint.</summary>
    public static string Describe(SealedKeyVersion version) =>
        string.Create(CultureInfo.InvariantCulture, $"version {version.Version} key id {version.KeyId} fingerprint {PublicKeyOf(version).Fingerprint}");

    private static DeploymentPublicKey PublicKeyOf(SealedKeyVersion version) =>
        new(version.Deployment, DeploymentKeyId.Parse(version.KeyId), version.Version, version.PublicKey);

    private byte[] OpenPrivateKey(SealedKeyVersion version) =>
        _storageKey.Open(version.SealedPrivateKey, StorageBinding.KeyPrivate(version.Deployment, version.KeyId, version.Version, version.PublicKey));

    private async Task<bool> AddAsync(string deployment, string keyId, int version, CancellationToken cancellationToken)
    {
        using var key = DeploymentKey.Generate(version);
        var privateKey = key.ExportPrivateKey();
        var dataKey = key.ExportDataKey();
        try
        {
            var record = new SealedKeyVersion(
                deployment,
                keyId,
                version,
                key.PublicKey,
                _storageKey.Seal(privateKey, StorageBinding.KeyPrivate(deployment, keyId, version, key.PublicKey)),
                _storageKey.Seal(dataKey, StorageBinding.KeyData(deployment, keyId, version, key.PublicKey)),
                _time.GetUtcNow());
            return await _store.AddKeyVersionAsync(record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }
}

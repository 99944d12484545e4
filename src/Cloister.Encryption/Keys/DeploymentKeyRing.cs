using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cloister.Encryption.Ciphertexts;

namespace Cloister.Encryption.Keys;

/// <summary>
/// Every key version of one deployment, as its enclaves hold them after provisioning: new ciphertexts use the current
/// version's data key, and any version it holds decrypts. Thread-safe; the encryptors and decryptors it makes are not.
/// </summary>
public sealed class DeploymentKeyRing : IDisposable
{
    // ECDH on P-384 costs far more than the AES-GCM of a value; documents encrypted outside carry one ephemeral key for
    // all their values, and a client may send many documents, so derived keys are kept (bounded; cleared when full).
    private const int MaxCachedSharedKeys = 4096;

    private readonly Dictionary<int, DeploymentKey> _keys;
    private readonly ConcurrentDictionary<string, byte[]> _sharedKeys = new(StringComparer.Ordinal);

    /// <summary>Creates a ring that owns <paramref name="keys"/> (they are disposed with it).</summary>
    /// <param name="deployment">The deployment's name, bound into every ciphertext.</param>
    /// <param name="keyId">The deployment's key id.</param>
    /// <param name="keys">Every version it holds.</param>
    /// <param name="currentVersion">The version new ciphertexts use.</param>
    /// <exception cref="ArgumentException">The name is empty or over 255 UTF-8 bytes, versions repeat, or none is <paramref name="currentVersion"/>.</exception>
    public DeploymentKeyRing(string deployment, DeploymentKeyId keyId, IEnumerable<DeploymentKey> keys, int currentVersion)
    {
        ArgumentNullException.ThrowIfNull(keys);
        List<DeploymentKey> given = [.. keys];
        _keys = [];
        try
        {
            DeploymentBytes = CiphertextLayout.DeploymentBytes(deployment);
            foreach (var key in given)
            {
                if (!_keys.TryAdd(key.Version, key))
                {
                    throw new ArgumentException($"key version {key.Version} is given twice", nameof(keys));
                }
            }

            Current = _keys.TryGetValue(currentVersion, out var current)
                ? current
                : throw new ArgumentException($"the current key version {currentVersion} is not among the keys given", nameof(currentVersion));
        }
        catch
        {
            // The ring owns what it was given even when it refuses it: no key outlives a failed construction unerased.
            given.ForEach(key => key.Dispose());
            throw;
        }

        Deployment = deployment;
        KeyId = keyId;
    }

    /// <summary>The deployment's name.</summary>
    public string Deployment { get; }

    /// <summary>The deployment's key id.</summary>
    public DeploymentKeyId KeyId { get; }

    /// <summary>The version new ciphertexts use.</summary>
    public int CurrentVersion => Current.Version;

    /// <summary>Every version held, in no order.</summary>
    public IReadOnlyCollection<int> Versions => _keys.Keys;

    internal byte[] DeploymentBytes { get; }

    private DeploymentKey Current { get; }

    /// <summary>The public key of the current version.</summary>
    public DeploymentPublicKey CurrentPublicKey => new(Deployment, KeyId, Current.Version, Current.PublicKey);

    /// <summary>An encryptor on the current data key with a fresh salt.</summary>
    public LeafEncryptor CreateEncryptor()
    {
        var header = new byte[CiphertextLayout.FixedHeaderSize + CiphertextLayout.SaltSize];
        Span<byte> salt = stackalloc byte[CiphertextLayout.SaltSize];
        RandomNumberGenerator.Fill(salt);
        CiphertextLayout.WriteHeader(header, CiphertextAlgorithm.DataKey, PlaintextKind.Bytes, KeyId, Current.Version, salt);
        Span<byte> key = stackalloc byte[CiphertextLayout.KeySize];
        KeyDerivation.FromDataKey(Current.DataKey, salt, KeyId, Current.Version, key);
        return new LeafEncryptor(key, header, DeploymentBytes);
    }

    /// <summary>A decryptor for ciphertexts of any version held.</summary>
    public LeafDecryptor CreateDecryptor() => new(this);

    /// <summary>Erases every key.</summary>
    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }

        foreach (var shared in _sharedKeys.Values)
        {
            CryptographicOperations.ZeroMemory(shared);
        }

        _sharedKeys.Clear();
    }

    /// <exception cref="CiphertextException">The version is not held, or a public-key ciphertext's point is not on the curve.</exception>
    internal void DeriveKey(CiphertextHeader header, ReadOnlySpan<byte> material, Span<byte> key)
    {
        if (!_keys.TryGetValue(header.KeyVersion, out var version))
        {
            throw new CiphertextException(
                CiphertextFailure.UnknownKeyVersion,
                $"the ciphertext uses key version {header.KeyVersion}; this enclave holds versions {string.Join(", ", _keys.Keys.Order())} of deployment '{Deployment}'");
        }

        if (header.Algorithm == CiphertextAlgorithm.DataKey)
        {
            KeyDerivation.FromDataKey(version.DataKey, material, KeyId, version.Version, key);
            return;
        }

        var cacheKey = $"{version.Version}:{Convert.ToBase64String(material)}";
        if (_sharedKeys.TryGetValue(cacheKey, out var cached))
        {
            cached.CopyTo(key);
            return;
        }

        using (var sender = P384.TryImportPoint(material)
            ?? throw new CiphertextException(CiphertextFailure.Tampered, "the sender's key in the ciphertext is not a point on P-384 (the ciphertext was changed)"))
        {
            byte[] secret;
            // One key object serves every request; .NET does not promise its members are thread-safe.
            lock (version.Agreement)
            {
                secret = version.Agreement.DeriveRawSecretAgreement(sender.PublicKey);
            }

            KeyDerivation.FromSharedSecret(secret, version.PublicKey, material, KeyId, version.Version, key);
            CryptographicOperations.ZeroMemory(secret);
        }

        if (_sharedKeys.Count >= MaxCachedSharedKeys)
        {
            // Not erased on eviction: another request may be copying one of them right now; Dispose erases what is kept.
            _sharedKeys.Clear();
        }

        _sharedKeys.TryAdd(cacheKey, key.ToArray());
    }
}

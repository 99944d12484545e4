namespace Cloister.Client.Encryption;

/// <summary>How an <see cref="Encryptor"/> spends its ECDH key agreements.</summary>
/// <remarks>
/// Every call of an <see cref="Encryptor"/> encrypts under an AES-256-GCM key agreed (ECDH P-384) between a fresh
/// ephemeral key and the deployment's public key; an agreement costs far more than the AES-GCM of a small value. With
/// <see cref="MaxValuesPerKey"/> above 1, an agreed key is kept and serves later calls until it has encrypted that many
/// values. Each value still gets its own nonce, counted up from the key's random start, so nonces never repeat under a
/// key; the bound keeps the data under one key small all the same. The price: ciphertexts made under one kept key carry the same
/// ephemeral public key, so whoever sees them can tell they came from the same <see cref="Encryptor"/> (not what they
/// hold), and the enclave derives that key once for all of them.
/// </remarks>
public sealed record EncryptorOptions
{
    /// <summary>The defaults: a fresh key agreement per call.</summary>
    public static EncryptorOptions Default { get; } = new();

    /// <summary>
    /// The most values encrypted under one agreed key, counted across calls: 1 (the default) agrees a key per call. A
    /// JSON document counts as many values as it could hold (half its length in bytes, rounded up), and a document that
    /// counts more than this bound is encrypted under a key of its own.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int MaxValuesPerKey { get; init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxValuesPerKey), value, "at least one value per key"); } = 1;
}

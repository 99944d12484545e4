using System.Security.Cryptography;

namespace Cloister.Provisioner.AtRest;

/// <summary>
/// The key that encrypts what the provisioner stores at rest (secret values, deployment CA keys). Implementations
/// other than <see cref="FileStorageKey"/> (a KMS, an HSM) plug in here.
/// </summary>
public interface IStorageKey
{
    /// <summary>Encrypts and authenticates a value for one place in the store.</summary>
    /// <param name="plaintext">The value.</param>
    /// <param name="associatedData">Where the value lives (e.g. <c>secret/&lt;deployment&gt;/&lt;name&gt;/&lt;version&gt;</c>): a sealed value opens only with the same string, so one row's ciphertext cannot be moved to another.</param>
    /// <returns>The sealed bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="associatedData"/> is <see langword="null"/>.</exception>
    byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData);

    /// <summary>Decrypts a value sealed by <see cref="Seal"/>.</summary>
    /// <param name="sealedValue">The sealed bytes.</param>
    /// <param name="associatedData">The string it was sealed with.</param>
    /// <returns>The plaintext.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="associatedData"/> is <see langword="null"/>.</exception>
    /// <exception cref="CryptographicException">The value was sealed with another key or associated data, or was changed.</exception>
    byte[] Open(ReadOnlySpan<byte> sealedValue, string associatedData);
}

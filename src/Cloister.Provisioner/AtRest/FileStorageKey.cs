using System.Security.Cryptography;
using System.Text;

namespace Cloister.Provisioner.AtRest;

/// <summary>
/// An <see cref="IStorageKey"/> kept in a file of 32 random bytes (mode 0600): AES-256-GCM with a random 96-bit nonce
/// per value. A sealed value is the version byte 1, the nonce, the ciphertext and the 16-byte tag.
/// </summary>
/// <remarks>
/// Random nonces are safe for far more values than a provisioner stores (the 2^32 bound of NIST SP 800-38D).
/// </remarks>
public sealed class FileStorageKey : IStorageKey, IDisposable
{
    /// <summary>The key's size in bytes.</summary>
    public const int KeySize = 32;

    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Overhead = 1 + NonceSize + TagSize;

    // An AesGcm instance is not thread-safe; the store seals from many requests at once, so each call makes its own.
    private readonly byte[] _key;

    private FileStorageKey(byte[] key) => _key = key;

    /// <summary>Writes a new random key to a file that must not exist, mode 0600 from its creation.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The key.</returns>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public static FileStorageKey Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        OwnerOnlyFile.Write(path, key);

        return new FileStorageKey(key);
    }

    /// <summary>Reads a key written by <see cref="Create"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The key.</returns>
    /// <exception cref="FormatException">The file is not 32 bytes, or others than its owner may read it.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static FileStorageKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OwnerOnlyFile.IsOwnerOnly(path))
        {
            throw new FormatException($"{path}: the storage key must be readable by its owner only (chmod 600)");
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
        if (file.Length != KeySize)
        {
            throw new FormatException($"{path}: a storage key is {KeySize} bytes, not {file.Length}");
        }

        var key = new byte[KeySize];
        file.ReadExactly(key);
        return new FileStorageKey(key);
    }

    /// <inheritdoc/>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(associatedData);
        var sealedValue = new byte[Overhead + plaintext.Length];
        sealedValue[0] = Version;
        var nonce = sealedValue.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var body = sealedValue.AsSpan(1 + NonceSize);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, body[..plaintext.Length], body[plaintext.Length..], Encoding.UTF8.GetBytes(associatedData));
        return sealedValue;
    }

    /// <inheritdoc/>
    public byte[] Open(ReadOnlySpan<byte> sealedValue, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(associatedData);
        if (sealedValue.Length < Overhead || sealedValue[0] != Version)
        {
            throw new CryptographicException($"not a sealed value ({sealedValue.Length} bytes; version {Version}, at least {Overhead} bytes)");
        }

        var body = sealedValue[(1 + NonceSize)..];
        var plaintext = new byte[body.Length - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedValue.Slice(1, NonceSize), body[..^TagSize], body[^TagSize..], plaintext, Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }

    /// <summary>Erases the key from memory.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;

namespace Cloister.Client.Encryption;

/// <summary>
/// Encrypts data for a deployment with its public key, before a service sends it to the deployment's enclaves or stores
/// it: only an enclave attested into that deployment can decrypt it (its <c>/decrypt</c>), and no one outside can,
/// this process included. Thread-safe: share one instance (a singleton in a DI container).
/// </summary>
/// <remarks>
/// The ciphertexts are Cloister's versioned format (docs/encryption.md) with <see cref="CiphertextAlgorithm.PublicKey"/>:
/// bound to the deployment's name, key id and key version. After a key rotation, ciphertexts made with an older public
/// key still decrypt; load the new key (<c>cloister keys show D --output FILE</c>) so new ones use it. Each call agrees an
/// AES key by ECDH unless <see cref="EncryptorOptions.MaxValuesPerKey"/> lets it reuse one.
/// </remarks>
public sealed class Encryptor : IDisposable
{
    private readonly int _maxValuesPerKey;

    // Kept keys with budget left. A key is taken out while it encrypts, so no two threads ever share one (AesGcm is
    // not thread-safe) and no lock is held during encryption.
    private readonly ConcurrentBag<KeptKey> _kept = [];
    private volatile bool _disposed;

    /// <summary>Creates an encryptor for the deployment <paramref name="publicKey"/> belongs to.</summary>
    /// <param name="publicKey">The deployment's public key (of the version new ciphertexts should use).</param>
    /// <param name="options">How keys are reused; <see cref="EncryptorOptions.Default"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="publicKey"/> is <see langword="null"/>.</exception>
    public Encryptor(DeploymentPublicKey publicKey, EncryptorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        PublicKey = publicKey;
        _maxValuesPerKey = (options ?? EncryptorOptions.Default).MaxValuesPerKey;
    }

    /// <summary>The public key every ciphertext is made with.</summary>
    public DeploymentPublicKey PublicKey { get; }

    /// <summary>The deployment whose enclaves can decrypt.</summary>
    public string Deployment => PublicKey.Deployment;

    /// <summary>Creates an encryptor from a public key file's bytes (what <c>cloister keys show --output</c> writes).</summary>
    /// <param name="publicKeyJson">The file's bytes.</param>
    /// <param name="options">How keys are reused.</param>
    /// <exception cref="FormatException">It is not a public key file; the message names the field.</exception>
    public static Encryptor FromJson(ReadOnlySpan<byte> publicKeyJson, EncryptorOptions? options = null) =>
        new(DeploymentPublicKey.Parse(publicKeyJson), options);

    /// <summary>Creates an encryptor from a public key file (what <c>cloister keys show --output</c> writes).</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How keys are reused.</param>
    /// <exception cref="FormatException">
    /// It is not a public key file or is larger than <see cref="DeploymentPublicKey.MaxJsonLength"/> bytes; the message
    /// begins with the path.
    /// </exception>
    /// <exception cref="IOException">It cannot be read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public static Encryptor FromFile(string path, EncryptorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // One byte past the limit tells "too large" from "exactly full" without reading a file of any size.
        var buffer = new byte[DeploymentPublicKey.MaxJsonLength + 1];
        var length = 0;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0))
        {
            int read;
            while (length < buffer.Length && (read = file.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }
        }

        if (length > DeploymentPublicKey.MaxJsonLength)
        {
            throw new FormatException($"{path}: a public key file is at most {DeploymentPublicKey.MaxJsonLength} bytes");
        }

        try
        {
            return FromJson(buffer.AsSpan(0, length), options);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Encrypts a string to a ciphertext string (<c>cl:</c> and base64url). Put in a JSON document as a string value,
    /// the enclave's <c>/decrypt</c> gives back <paramref name="value"/> as that string.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns>The ciphertext string.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> holds a lone surrogate (it is not Unicode text).</exception>
    /// <exception cref="ObjectDisposedException">The encryptor was disposed.</exception>
    public string EncryptString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        byte[] utf8;
        try
        {
            utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetBytes(value);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("the value is not Unicode text (it holds a lone surrogate)", nameof(value), ex);
        }

        var key = Take(1);
        try
        {
            return key.Encryptor.EncryptToString(utf8, PlaintextKind.String);
        }
        finally
        {
            Release(key);
            CryptographicOperations.ZeroMemory(utf8);
        }
    }

    /// <summary>
    /// Encrypts bytes whole to a binary ciphertext: what the enclave's <c>/decrypt</c> takes as an
    /// <c>application/octet-stream</c> body and gives back as <paramref name="plaintext"/>.
    /// </summary>
    /// <param name="plaintext">The bytes.</param>
    /// <returns>The ciphertext: the plaintext's length plus 140 bytes.</returns>
    /// <exception cref="ObjectDisposedException">The encryptor was disposed.</exception>
    /// <exception cref="OverflowException">The ciphertext would be longer than an array can be.</exception>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        var key = Take(1);
        try
        {
            return key.Encryptor.Encrypt(plaintext, PlaintextKind.Bytes);
        }
        finally
        {
            Release(key);
        }
    }

    /// <summary>
    /// Encrypts the leaves of a JSON document, keeping its shape: every string (with <see cref="LeafSelection.All"/>
    /// also every number and boolean) becomes a ciphertext string that the enclave's <c>/decrypt</c> turns back into
    /// the value it was. Keys, nulls and the order of everything stay as they are; the output is compact.
    /// </summary>
    /// <param name="json">A UTF-8 JSON document (any value at the top, at most <see cref="JsonLeafCipher.MaxDepth"/> deep).</param>
    /// <param name="leaves">Which leaves to encrypt.</param>
    /// <returns>The document with its leaves encrypted, as UTF-8.</returns>
    /// <exception cref="CiphertextException">The document does not parse (<see cref="CiphertextFailure.InvalidJson"/>, with the byte offset).</exception>
    /// <exception cref="ObjectDisposedException">The encryptor was disposed.</exception>
    public byte[] EncryptJson(ReadOnlySpan<byte> json, LeafSelection leaves = LeafSelection.Strings)
    {
        var output = new ArrayBufferWriter<byte>(json.Length + 256);
        EncryptJson(json, output, leaves);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Encrypts the leaves of a JSON document into <paramref name="output"/> as it goes, as
    /// <see cref="EncryptJson(ReadOnlySpan{byte}, LeafSelection)"/> does.
    /// </summary>
    /// <param name="json">A UTF-8 JSON document (any value at the top, at most <see cref="JsonLeafCipher.MaxDepth"/> deep).</param>
    /// <param name="output">
    /// Where the document goes. When the document does not parse, it may already hold the part before the fault: write
    /// it somewhere final only once this method returns.
    /// </param>
    /// <param name="leaves">Which leaves to encrypt.</param>
    /// <exception cref="CiphertextException">The document does not parse (<see cref="CiphertextFailure.InvalidJson"/>, with the byte offset).</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The encryptor was disposed.</exception>
    public void EncryptJson(ReadOnlySpan<byte> json, IBufferWriter<byte> output, LeafSelection leaves = LeafSelection.Strings)
    {
        ArgumentNullException.ThrowIfNull(output);
        var key = Take(MostLeaves(json.Length));
        try
        {
            JsonLeafCipher.Encrypt(json, key.Encryptor, leaves, output);
        }
        finally
        {
            Release(key);
        }
    }

    /// <summary>Serializes <paramref name="value"/> with <paramref name="typeInfo"/> and encrypts the document's leaves.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">Its JSON contract (source-generated, so this works under trimming and NativeAOT).</param>
    /// <param name="leaves">Which leaves to encrypt.</param>
    /// <returns>The document with its leaves encrypted, as UTF-8.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="typeInfo"/> is <see langword="null"/>.</exception>
    /// <exception cref="NotSupportedException">The value cannot be serialized with the contract.</exception>
    /// <exception cref="ObjectDisposedException">The encryptor was disposed.</exception>
    public byte[] EncryptJson<T>(T value, JsonTypeInfo<T> typeInfo, LeafSelection leaves = LeafSelection.Strings)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        try
        {
            return EncryptJson(json, leaves);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Erases the kept keys (none unless <see cref="EncryptorOptions.MaxValuesPerKey"/> is above 1); later calls throw.</summary>
    public void Dispose()
    {
        _disposed = true;
        DisposeKept();
    }

    // Every leaf takes at least one byte and is followed by a separator or the end: a document of n bytes holds at most
    // ceil(n / 2) leaves, so charging that keeps a kept key's count an upper bound of the nonces it drew.
    private static long MostLeaves(int jsonLength) => Math.Max(1, (jsonLength + 1L) / 2);

    private KeptKey Take(long values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (values <= _maxValuesPerKey)
        {
            while (_kept.TryTake(out var kept))
            {
                if (kept.Remaining >= values)
                {
                    kept.Remaining -= values;
                    return kept;
                }

                kept.Encryptor.Dispose();
            }
        }

        // A document that counts more than the bound gets a key of its own, never kept: its values are at most
        // ceil(int.MaxValue / 2), still far below the nonce limit.
        return new KeptKey(PublicKey.CreateEncryptor(), Math.Max(0, _maxValuesPerKey - values));
    }

    private void Release(KeptKey key)
    {
        if (key.Remaining == 0 || _disposed)
        {
            key.Encryptor.Dispose();
            return;
        }

        _kept.Add(key);
        if (_disposed)
        {
            // Dispose ran between the check and the add: what it drained did not include this key.
            DisposeKept();
        }
    }

    private void DisposeKept()
    {
        while (_kept.TryTake(out var kept))
        {
            kept.Encryptor.Dispose();
        }
    }

    private sealed class KeptKey(LeafEncryptor encryptor, long remaining)
    {
        public LeafEncryptor Encryptor { get; } = encryptor;

        public long Remaining { get; set; } = remaining;
    }
}

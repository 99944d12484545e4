using System.Security.Cryptography;

namespace Cloister.Kms.Recipients;

/// <summary>
/// The RSA-2048 key KMS encrypts a Recipient operation's answer to (<c>CiphertextForRecipient</c>). It never leaves the
/// enclave: its public half goes into the attestation document, and KMS checks the document before using it.
/// <see cref="Decrypt"/> may be called from several threads at once.
/// </summary>
public sealed class RecipientKey : IDisposable
{
    /// <summary>The largest ciphertext read: KMS's answers hold at most 8 KiB of plaintext (a key pair's private key).</summary>
    public const int MaxCiphertextLength = 64 * 1024;

    private const int KeySizeBits = 2048;

    private readonly RSA _rsa;
    private readonly byte[] _subjectPublicKeyInfo;
    private readonly byte[] _keyIdentifier;
    private bool _disposed;

    /// <summary>Generates a fresh RSA-2048 key.</summary>
    public RecipientKey()
        : this(RSA.Create(KeySizeBits))
    {
    }

    /// <summary>Takes ownership of an existing key (tests use KMS's published vector key).</summary>
    internal RecipientKey(RSA rsa)
    {
        _rsa = rsa;
        // Exporting also makes the key now: RSA.Create generates lazily, on first use, which concurrent Decrypts would race.
        _subjectPublicKeyInfo = rsa.ExportSubjectPublicKeyInfo();
        _keyIdentifier = SHA256.HashData(_subjectPublicKeyInfo);
    }

    /// <summary>The public key as DER SubjectPublicKeyInfo: the attestation document's <c>public_key</c>.</summary>
    public ReadOnlyMemory<byte> SubjectPublicKeyInfo => _subjectPublicKeyInfo;

    /// <summary>SHA-256 of <see cref="SubjectPublicKeyInfo"/>: the subjectKeyIdentifier KMS writes as the CMS rid.</summary>
    public ReadOnlyMemory<byte> KeyIdentifier => _keyIdentifier;

    /// <summary>Decrypts KMS's <c>CiphertextForRecipient</c> (base64-decoded): a CMS EnvelopedData addressed to this key.</summary>
    /// <param name="ciphertextForRecipient">The CMS ContentInfo, BER (KMS writes indefinite lengths) or DER.</param>
    /// <returns>The plaintext, in a new array the caller should zero after use.</returns>
    /// <exception cref="RecipientCiphertextException">It is malformed, not of the one form KMS writes, for another key, or does not decrypt; <see cref="RecipientCiphertextException.Failure"/> says why.</exception>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> ciphertextForRecipient)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ciphertextForRecipient.Length > MaxCiphertextLength)
        {
            throw new RecipientCiphertextException(
                RecipientCiphertextFailure.TooLarge,
                MaxCiphertextLength,
                $"the ciphertext is {ciphertextForRecipient.Length} bytes, over the {MaxCiphertextLength} read");
        }

        var parts = RecipientCiphertextReader.Read(ciphertextForRecipient.ToArray(), _keyIdentifier);
        Span<byte> contentKey = stackalloc byte[KeySizeBits / 8];
        try
        {
            var keyLength = DecryptContentKey(parts, contentKey);
            return DecryptContent(parts, contentKey[..keyLength]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    /// <summary>Releases the private key.</summary>
    public void Dispose()
    {
        _disposed = true;
        _rsa.Dispose();
    }

    private int DecryptContentKey(RecipientCiphertextParts parts, Span<byte> contentKey)
    {
        int written;
        try
        {
            if (!_rsa.TryDecrypt(parts.EncryptedKey, contentKey, RSAEncryptionPadding.OaepSHA256, out written))
            {
                written = -1;
            }
        }
        catch (CryptographicException ex)
        {
            throw KeyFailure(parts, $"RSAES-OAEP decryption of encryptedKey failed ({ex.Message}): it was changed, or made for another key", ex);
        }

        if (written != RecipientCiphertextReader.ContentKeySize)
        {
            throw KeyFailure(parts, $"encryptedKey decrypts to {Math.Max(written, 0)} bytes, not an AES-256 key's {RecipientCiphertextReader.ContentKeySize}", null);
        }

        return written;
    }

    private static RecipientCiphertextException KeyFailure(RecipientCiphertextParts parts, string detail, Exception? inner) =>
        new(RecipientCiphertextFailure.KeyDecryptionFailed, parts.EncryptedKeyOffset, detail, inner);

    private static byte[] DecryptContent(RecipientCiphertextParts parts, ReadOnlySpan<byte> contentKey)
    {
        var content = parts.EncryptedContent;
        if (content.Length == 0 || content.Length % RecipientCiphertextReader.BlockSize != 0)
        {
            throw new RecipientCiphertextException(
                RecipientCiphertextFailure.ContentDecryptionFailed,
                parts.EncryptedContentOffset,
                $"encryptedContent is {content.Length} bytes, not a positive multiple of the AES block size");
        }

        var key = contentKey.ToArray();
        var plaintext = new byte[content.Length];
        try
        {
            using var aes = Aes.Create();
            aes.Key = key;
            var length = aes.DecryptCbc(content, parts.InitializationVector, plaintext, PaddingMode.PKCS7);
            var exact = plaintext[..length];
            CryptographicOperations.ZeroMemory(plaintext);
            return exact;
        }
        catch (CryptographicException ex)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new RecipientCiphertextException(
                RecipientCiphertextFailure.ContentDecryptionFailed,
                parts.EncryptedContentOffset,
                "encryptedContent's PKCS#7 padding is wrong after AES-256-CBC decryption: it was changed, or its key was",
                ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}

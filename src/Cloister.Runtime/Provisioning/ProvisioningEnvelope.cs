using System.Security.Cryptography;
using System.Text;
using Cloister.Encryption.Keys;

namespace Cloister.Runtime.Provisioning;

/// <summary>
/// Seals a provisioning answer to the enclave's ephemeral P-384 key, so that only the attested enclave can read it
/// whoever relays it: ECDH P-384 with a fresh sender key, HKDF-SHA-384, AES-256-GCM.
/// </summary>
/// <remarks>
/// The bytes: the magic <c>CLP1</c>, the sender's ephemeral public key as an uncompressed SEC 1 point (97 bytes), the
/// 12-byte nonce, the ciphertext, the 16-byte tag. The AES key is HKDF-SHA-384 of the raw shared secret (the X
/// coordinate), with no salt and the info <c>cloister provisioning v1</c> followed by the recipient's
/// SubjectPublicKeyInfo and the sender's point, so a key is bound to both parties. The caller's associated data (the
/// token's hash) is authenticated, not carried.
/// </remarks>
public static class ProvisioningEnvelope
{
    private const int PointSize = P384.PointSize;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;

    private static readonly byte[] s_magic = "CLP1"u8.ToArray();
    private static readonly byte[] s_info = Encoding.ASCII.GetBytes("cloister provisioning v1");

    /// <summary>The bytes an envelope adds to its plaintext.</summary>
    public const int Overhead = 4 + PointSize + NonceSize + TagSize;

    /// <summary>Seals <paramref name="plaintext"/> to the holder of the private key of <paramref name="recipientPublicKey"/>.</summary>
    /// <param name="plaintext">What to seal.</param>
    /// <param name="recipientPublicKey">The recipient's DER SubjectPublicKeyInfo (an attestation document's <c>public_key</c>).</param>
    /// <param name="associatedData">Authenticated but not carried; <see cref="Open"/> must be given the same bytes.</param>
    /// <returns>The envelope.</returns>
    /// <exception cref="FormatException"><paramref name="recipientPublicKey"/> is not the SubjectPublicKeyInfo of a P-384 key.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> associatedData)
    {
        using var recipient = P384.ImportSubjectPublicKeyInfo(recipientPublicKey);
        using var sender = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var senderPoint = new byte[PointSize];
        P384.WritePoint(sender, senderPoint);
        var envelope = new byte[Overhead + plaintext.Length];
        s_magic.CopyTo(envelope, 0);
        senderPoint.CopyTo(envelope, s_magic.Length);
        var nonce = envelope.AsSpan(s_magic.Length + PointSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var key = DeriveKey(sender.DeriveRawSecretAgreement(recipient.PublicKey), recipientPublicKey, senderPoint);
        using var aes = new AesGcm(key, TagSize);
        var body = envelope.AsSpan(s_magic.Length + PointSize + NonceSize);
        aes.Encrypt(nonce, plaintext, body[..plaintext.Length], body[plaintext.Length..], associatedData);
        CryptographicOperations.ZeroMemory(key);
        return envelope;
    }

    /// <summary>Opens an envelope sealed to <paramref name="recipient"/>.</summary>
    /// <param name="envelope">The envelope.</param>
    /// <param name="recipient">The recipient's P-384 key pair.</param>
    /// <param name="associatedData">The bytes it was sealed with.</param>
    /// <returns>The plaintext.</returns>
    /// <exception cref="FormatException">The bytes are not an envelope.</exception>
    /// <exception cref="CryptographicException">It was not sealed to this key with this associated data, or was changed.</exception>
    public static byte[] Open(ReadOnlySpan<byte> envelope, ECDiffieHellman recipient, ReadOnlySpan<byte> associatedData)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        if (envelope.Length < Overhead || !envelope.StartsWith(s_magic))
        {
            throw new FormatException($"not a provisioning envelope ({envelope.Length} bytes; it starts with CLP1 and is at least {Overhead} bytes)");
        }

        var senderPoint = envelope.Slice(s_magic.Length, PointSize);
        using var sender = P384.TryImportPoint(senderPoint) ?? throw new FormatException("the envelope's sender key is not an uncompressed point on P-384");
        var key = DeriveKey(recipient.DeriveRawSecretAgreement(sender.PublicKey), recipient.ExportSubjectPublicKeyInfo(), senderPoint);
        var nonce = envelope.Slice(s_magic.Length + PointSize, NonceSize);
        var body = envelope[(s_magic.Length + PointSize + NonceSize)..];
        var plaintext = new byte[body.Length - TagSize];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(nonce, body[..^TagSize], body[^TagSize..], plaintext, associatedData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return plaintext;
    }

    private static byte[] DeriveKey(byte[] sharedSecret, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> senderPoint)
    {
        var info = new byte[s_info.Length + recipientPublicKey.Length + senderPoint.Length];
        s_info.CopyTo(info, 0);
        recipientPublicKey.CopyTo(info.AsSpan(s_info.Length));
        senderPoint.CopyTo(info.AsSpan(s_info.Length + recipientPublicKey.Length));
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA384, sharedSecret, KeySize, salt: [], info);
        CryptographicOperations.ZeroMemory(sharedSecret);
        return key;
    }
}

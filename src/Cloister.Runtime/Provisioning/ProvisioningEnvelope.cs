using System.Security.Cryptography;
using System.Text;

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
    private const int PointSize = 1 + (2 * CoordinateSize);
    private const int CoordinateSize = 48;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;
    private const string P384Oid = "1.3.132.0.34";

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
        using var recipient = ImportRecipient(recipientPublicKey);
        using var sender = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var senderPoint = Point(sender.ExportParameters(includePrivateParameters: false));
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
        if (senderPoint[0] != 0x04)
        {
            throw new FormatException("the envelope's sender key is not an uncompressed point");
        }

        using var sender = ECDiffieHellman.Create();
        try
        {
            sender.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP384,
                Q = new ECPoint { X = senderPoint.Slice(1, CoordinateSize).ToArray(), Y = senderPoint.Slice(1 + CoordinateSize, CoordinateSize).ToArray() },
            });
        }
        catch (CryptographicException ex)
        {
            throw new FormatException("the envelope's sender key is not a point on P-384", ex);
        }

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

    private static ECDiffieHellman ImportRecipient(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var recipient = ECDiffieHellman.Create();
        try
        {
            recipient.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            if (read != subjectPublicKeyInfo.Length || recipient.ExportParameters(false).Curve.Oid.Value != P384Oid)
            {
                throw new FormatException("the recipient key is not a P-384 SubjectPublicKeyInfo");
            }

            return recipient;
        }
        catch (CryptographicException ex)
        {
            recipient.Dispose();
            throw new FormatException("the recipient key is not an EC SubjectPublicKeyInfo", ex);
        }
        catch
        {
            recipient.Dispose();
            throw;
        }
    }

    private static byte[] Point(ECParameters parameters)
    {
        var point = new byte[PointSize];
        point[0] = 0x04;
        parameters.Q.X!.CopyTo(point, 1);
        parameters.Q.Y!.CopyTo(point, 1 + CoordinateSize);
        return point;
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

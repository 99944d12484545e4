using System.Buffers.Binary;
using System.Security.Cryptography;
using Cloister.Encryption.Ciphertexts;

namespace Cloister.Encryption.Keys;

/// <summary>
/// The AES-256-GCM key of a ciphertext: HKDF-SHA-384 with an info that names the algorithm, the key id and version (and,
/// for public-key ciphertexts, both public keys), so no key serves two purposes.
/// </summary>
internal static class KeyDerivation
{
    private static ReadOnlySpan<byte> DataKeyLabel => "cloister data key v1"u8;

    private static ReadOnlySpan<byte> PublicKeyLabel => "cloister public key v1"u8;

    /// <summary>The key of a data-key ciphertext: HKDF of the data key, the ciphertext's salt as salt.</summary>
    public static void FromDataKey(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> salt, DeploymentKeyId keyId, int version, Span<byte> key)
    {
        Span<byte> info = stackalloc byte[DataKeyLabel.Length + DeploymentKeyId.Size + 4];
        WriteInfo(info, DataKeyLabel, keyId, version);
        HKDF.DeriveKey(HashAlgorithmName.SHA384, dataKey, key, salt, info);
    }

    /// <summary>The key of a public-key ciphertext: HKDF of the ECDH secret (the X coordinate), no salt.</summary>
    public static void FromSharedSecret(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> senderPoint, DeploymentKeyId keyId, int version, Span<byte> key)
    {
        var fixedLength = PublicKeyLabel.Length + DeploymentKeyId.Size + 4;
        var info = new byte[fixedLength + recipientPublicKey.Length + senderPoint.Length];
        WriteInfo(info, PublicKeyLabel, keyId, version);
        recipientPublicKey.CopyTo(info.AsSpan(fixedLength));
        senderPoint.CopyTo(info.AsSpan(fixedLength + recipientPublicKey.Length));
        HKDF.DeriveKey(HashAlgorithmName.SHA384, sharedSecret, key, salt: [], info);
    }

    /// <summary>The sender's point as the ciphertext carries it (uncompressed SEC 1).</summary>
    public static void WritePoint(ECParameters parameters, Span<byte> point)
    {
        point[0] = 0x04;
        parameters.Q.X.CopyTo(point[1..]);
        parameters.Q.Y.CopyTo(point[(1 + P384.CoordinateSize)..]);
    }

    /// <summary>A P-384 public key from an uncompressed point.</summary>
    /// <exception cref="CiphertextException">It is not a point on P-384 (<see cref="CiphertextFailure.Tampered"/>: only a change makes one).</exception>
    public static ECDiffieHellman ImportPoint(ReadOnlySpan<byte> point)
    {
        if (point[0] != 0x04)
        {
            throw new CiphertextException(CiphertextFailure.Tampered, "the sender's key in the ciphertext is not an uncompressed point (the ciphertext was changed)");
        }

        var sender = ECDiffieHellman.Create();
        try
        {
            sender.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP384,
                Q = new ECPoint { X = point.Slice(1, P384.CoordinateSize).ToArray(), Y = point.Slice(1 + P384.CoordinateSize, P384.CoordinateSize).ToArray() },
            });
            return sender;
        }
        catch (CryptographicException ex)
        {
            sender.Dispose();
            throw new CiphertextException(CiphertextFailure.Tampered, "the sender's key in the ciphertext is not a point on P-384 (the ciphertext was changed)", ex);
        }
    }

    private static void WriteInfo(Span<byte> info, ReadOnlySpan<byte> label, DeploymentKeyId keyId, int version)
    {
        label.CopyTo(info);
        keyId.Write(info[label.Length..]);
        BinaryPrimitives.WriteUInt32BigEndian(info[(label.Length + DeploymentKeyId.Size)..], (uint)version);
    }
}

/// <summary>The curve of every deployment key.</summary>
internal static class P384
{
    public const int CoordinateSize = 48;
    public const string Oid = "1.3.132.0.34";
}

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

    private static void WriteInfo(Span<byte> info, ReadOnlySpan<byte> label, DeploymentKeyId keyId, int version)
    {
        label.CopyTo(info);
        keyId.Write(info[label.Length..]);
        BinaryPrimitives.WriteUInt32BigEndian(info[(label.Length + DeploymentKeyId.Size)..], (uint)version);
    }
}

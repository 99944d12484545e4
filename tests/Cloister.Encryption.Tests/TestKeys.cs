using System.Security.Cryptography;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>
/// Exported key versions that tests turn into several rings: a ring owns (and erases) its keys, so each ring imports
/// its own copies, and two rings can hold the same keys under other names or versions.
/// </summary>
internal sealed record ExportedKey(int Version, byte[] PrivateKey, byte[] DataKey)
{
    public static ExportedKey Generate(int version)
    {
        using var key = DeploymentKey.Generate(version);
        return new(version, key.ExportPrivateKey(), key.ExportDataKey());
    }

    public DeploymentKey Import() => DeploymentKey.Import(Version, PrivateKey, DataKey);

    public ECDiffieHellman ImportAgreement()
    {
        var agreement = ECDiffieHellman.Create();
        agreement.ImportPkcs8PrivateKey(PrivateKey, out _);
        return agreement;
    }
}

internal static class TestKeys
{
    public static DeploymentKeyRing Ring(string deployment, DeploymentKeyId keyId, int currentVersion, params ExportedKey[] keys) =>
        new(deployment, keyId, [.. keys.Select(k => k.Import())], currentVersion);

    /// <summary>A ring of one fresh version 1.</summary>
    public static DeploymentKeyRing NewRing(string deployment = "cards") => new(deployment, DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);

    /// <summary>An encryptor of either algorithm on the ring's current version.</summary>
    public static Ciphertexts.LeafEncryptor Encryptor(DeploymentKeyRing ring, Ciphertexts.CiphertextAlgorithm algorithm) =>
        algorithm == Ciphertexts.CiphertextAlgorithm.DataKey ? ring.CreateEncryptor() : ring.CurrentPublicKey.CreateEncryptor();

    public static byte[] Encrypt(DeploymentKeyRing ring, Ciphertexts.CiphertextAlgorithm algorithm, ReadOnlySpan<byte> plaintext, Ciphertexts.PlaintextKind kind)
    {
        using var encryptor = Encryptor(ring, algorithm);
        return encryptor.Encrypt(plaintext, kind);
    }

    public static Ciphertexts.CiphertextException DecryptFails(DeploymentKeyRing ring, byte[] ciphertext)
    {
        using var decryptor = ring.CreateDecryptor();
        return Assert.Throws<Ciphertexts.CiphertextException>(() => decryptor.Decrypt(ciphertext, out _));
    }
}

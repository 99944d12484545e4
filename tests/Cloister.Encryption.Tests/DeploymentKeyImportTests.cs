using System.Security.Cryptography;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>Keys as the provisioner stores and releases them: exported, imported, and every bad import refused.</summary>
public sealed class DeploymentKeyImportTests
{
    [Fact]
    public void Exported_keys_import_to_the_same_keys()
    {
        var exported = ExportedKey.Generate(3);
        using var original = TestKeys.Ring("cards", new DeploymentKeyId(42), 3, exported);
        using var imported = exported.Import();
        Assert.Equal(3, imported.Version);
        Assert.Equal(exported.DataKey, imported.ExportDataKey());
        Assert.Equal(original.CurrentPublicKey.ExportSubjectPublicKeyInfo(), imported.PublicKey);
        using var ring = new DeploymentKeyRing("cards", new DeploymentKeyId(42), [imported], 3);
        using var decryptor = ring.CreateDecryptor();
        foreach (var algorithm in new[] { CiphertextAlgorithm.DataKey, CiphertextAlgorithm.PublicKey })
        {
            Assert.Equal("x"u8.ToArray(), decryptor.Decrypt(TestKeys.Encrypt(original, algorithm, "x"u8, PlaintextKind.String), out _));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void A_data_key_that_is_not_32_bytes_is_refused(int length)
    {
        var exported = ExportedKey.Generate(1);
        var ex = Assert.Throws<FormatException>(() => DeploymentKey.Import(1, exported.PrivateKey, new byte[length]));
        Assert.Contains($"the data key is {length} bytes, not 32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_p256_private_key_is_refused()
    {
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var ex = Assert.Throws<FormatException>(() => DeploymentKey.Import(1, p256.ExportPkcs8PrivateKey(), new byte[32]));
        Assert.Contains("not a P-384 PKCS#8 key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_rsa_private_key_is_refused()
    {
        using var rsa = RSA.Create(2048);
        Assert.Throws<FormatException>(() => DeploymentKey.Import(1, rsa.ExportPkcs8PrivateKey(), new byte[32]));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x30, 0x00 })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5 })]
    public void Garbage_is_refused(byte[] privateKey)
    {
        var ex = Assert.Throws<FormatException>(() => DeploymentKey.Import(1, privateKey, new byte[32]));
        Assert.Contains("does not parse as PKCS#8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_after_the_private_key_are_refused()
    {
        var exported = ExportedKey.Generate(1);
        Assert.Throws<FormatException>(() => DeploymentKey.Import(1, [.. exported.PrivateKey, 0], exported.DataKey));
    }

    [Fact]
    public void Versions_start_at_1()
    {
        var exported = ExportedKey.Generate(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => DeploymentKey.Import(0, exported.PrivateKey, exported.DataKey));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeploymentKey.Generate(0));
    }

    [Fact]
    public void A_disposed_key_has_erased_its_data_key()
    {
        var key = DeploymentKey.Generate(1);
        key.Dispose();
        Assert.Equal(new byte[32], key.ExportDataKey());
    }
}

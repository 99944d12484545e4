using System.Buffers.Binary;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>Rotation: new ciphertexts carry the current version, older ones decrypt while their version is held.</summary>
public sealed class KeyVersionTests
{
    private static readonly CiphertextAlgorithm[] Algorithms = [CiphertextAlgorithm.DataKey, CiphertextAlgorithm.PublicKey];

    private readonly DeploymentKeyId _keyId = DeploymentKeyId.New();
    private readonly ExportedKey _v1 = ExportedKey.Generate(1);
    private readonly ExportedKey _v2 = ExportedKey.Generate(2);

    [Fact]
    public void After_rotation_version_1_ciphertexts_decrypt_and_new_ones_carry_version_2()
    {
        using var before = TestKeys.Ring("cards", _keyId, 1, _v1);
        using var after = TestKeys.Ring("cards", _keyId, 2, _v1, _v2);
        Assert.Equal(2, after.CurrentVersion);
        Assert.Equal([1, 2], after.Versions.Order());
        Assert.Equal(2, after.CurrentPublicKey.Version);
        using var decryptor = after.CreateDecryptor();
        foreach (var algorithm in Algorithms)
        {
            var old = TestKeys.Encrypt(before, algorithm, "old"u8, PlaintextKind.String);
            var fresh = TestKeys.Encrypt(after, algorithm, "new"u8, PlaintextKind.String);
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(old.AsSpan(11)));
            Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(fresh.AsSpan(11)));
            Assert.Equal("old"u8.ToArray(), decryptor.Decrypt(old, out _));
            Assert.Equal("new"u8.ToArray(), decryptor.Decrypt(fresh, out _));
        }
    }

    [Fact]
    public void One_decryptor_alternating_versions_and_algorithms_uses_the_right_key_each_time()
    {
        using var before = TestKeys.Ring("cards", _keyId, 1, _v1);
        using var after = TestKeys.Ring("cards", _keyId, 2, _v1, _v2);
        using var oldData = before.CreateEncryptor();
        using var newData = after.CreateEncryptor();
        using var oldPublic = before.CurrentPublicKey.CreateEncryptor();
        using var newPublic = after.CurrentPublicKey.CreateEncryptor();
        LeafEncryptor[] encryptors = [oldData, newData, oldPublic, newPublic, oldData, oldData, newPublic, oldPublic];
        using var decryptor = after.CreateDecryptor();
        for (var i = 0; i < encryptors.Length; i++)
        {
            var plaintext = new[] { (byte)i };
            Assert.Equal(plaintext, decryptor.Decrypt(encryptors[i].Encrypt(plaintext, PlaintextKind.Bytes), out _));
        }
    }

    [Fact]
    public void A_ring_without_version_1_refuses_its_ciphertexts_as_an_unknown_version()
    {
        using var before = TestKeys.Ring("cards", _keyId, 1, _v1);
        using var only2 = TestKeys.Ring("cards", _keyId, 2, _v2);
        foreach (var algorithm in Algorithms)
        {
            var ex = TestKeys.DecryptFails(only2, TestKeys.Encrypt(before, algorithm, "old"u8, PlaintextKind.String));
            Assert.Equal(CiphertextFailure.UnknownKeyVersion, ex.Failure);
            Assert.Contains("key version 1", ex.Message, StringComparison.Ordinal);
            Assert.Contains("holds versions 2", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_ring_that_has_not_yet_got_version_2_refuses_its_ciphertexts()
    {
        using var before = TestKeys.Ring("cards", _keyId, 1, _v1);
        using var after = TestKeys.Ring("cards", _keyId, 2, _v1, _v2);
        foreach (var algorithm in Algorithms)
        {
            Assert.Equal(CiphertextFailure.UnknownKeyVersion, TestKeys.DecryptFails(before, TestKeys.Encrypt(after, algorithm, "new"u8, PlaintextKind.String)).Failure);
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(0x80000000u)]
    [InlineData(uint.MaxValue)]
    public void Versions_not_held_or_out_of_range_are_unknown(uint version)
    {
        using var ring = TestKeys.Ring("cards", _keyId, 2, _v1, _v2);
        var ciphertext = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "x"u8, PlaintextKind.String);
        BinaryPrimitives.WriteUInt32BigEndian(ciphertext.AsSpan(11), version);
        Assert.Equal(CiphertextFailure.UnknownKeyVersion, TestKeys.DecryptFails(ring, ciphertext).Failure);
    }

    [Fact]
    public void A_ciphertext_relabelled_with_another_held_version_fails_authentication()
    {
        using var ring = TestKeys.Ring("cards", _keyId, 2, _v1, _v2);
        foreach (var algorithm in Algorithms)
        {
            var ciphertext = TestKeys.Encrypt(ring, algorithm, "x"u8, PlaintextKind.String);
            BinaryPrimitives.WriteUInt32BigEndian(ciphertext.AsSpan(11), 1);
            Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, ciphertext).Failure);
        }
    }

    [Fact]
    public void A_ring_refuses_repeated_versions_and_a_current_version_it_lacks()
    {
        Assert.Throws<ArgumentException>(() => TestKeys.Ring("cards", _keyId, 1, _v1, _v1));
        Assert.Throws<ArgumentException>(() => TestKeys.Ring("cards", _keyId, 2, _v1));
    }
}

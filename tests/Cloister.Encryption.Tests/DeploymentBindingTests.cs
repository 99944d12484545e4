using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>A ciphertext opens only for the deployment it was made for: its key id and its name.</summary>
public sealed class DeploymentBindingTests
{
    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void The_same_keys_under_another_deployment_name_fail_authentication(CiphertextAlgorithm algorithm)
    {
        var key = ExportedKey.Generate(1);
        var keyId = DeploymentKeyId.New();
        using var cards = TestKeys.Ring("cards", keyId, 1, key);
        using var renamed = TestKeys.Ring("cards-2", keyId, 1, key);
        using var sameName = TestKeys.Ring("cards", keyId, 1, key);
        var ciphertext = TestKeys.Encrypt(cards, algorithm, "4111"u8, PlaintextKind.String);

        var ex = TestKeys.DecryptFails(renamed, ciphertext);
        Assert.Equal(CiphertextFailure.Tampered, ex.Failure);
        Assert.Contains("'cards-2'", ex.Message, StringComparison.Ordinal);
        using var decryptor = sameName.CreateDecryptor();
        Assert.Equal("4111"u8.ToArray(), decryptor.Decrypt(ciphertext, out _));
    }

    [Fact]
    public void A_name_is_bound_with_its_length_so_a_prefix_is_another_name()
    {
        var key = ExportedKey.Generate(1);
        var keyId = DeploymentKeyId.New();
        using var cards = TestKeys.Ring("cards", keyId, 1, key);
        using var card = TestKeys.Ring("card", keyId, 1, key);
        var ciphertext = TestKeys.Encrypt(cards, CiphertextAlgorithm.DataKey, "4111"u8, PlaintextKind.String);
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(card, ciphertext).Failure);
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void Another_deployment_is_refused_by_key_id(CiphertextAlgorithm algorithm)
    {
        using var cards = TestKeys.NewRing("cards");
        using var phones = TestKeys.NewRing("phones");
        var ex = TestKeys.DecryptFails(phones, TestKeys.Encrypt(cards, algorithm, "4111"u8, PlaintextKind.String));
        Assert.Equal(CiphertextFailure.OtherDeployment, ex.Failure);
        Assert.Contains(cards.KeyId.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_keys_under_the_same_key_id_and_name_fail_authentication()
    {
        var keyId = DeploymentKeyId.New();
        using var real = TestKeys.Ring("cards", keyId, 1, ExportedKey.Generate(1));
        using var impostor = TestKeys.Ring("cards", keyId, 1, ExportedKey.Generate(1));
        foreach (var algorithm in new[] { CiphertextAlgorithm.DataKey, CiphertextAlgorithm.PublicKey })
        {
            Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(impostor, TestKeys.Encrypt(real, algorithm, "4111"u8, PlaintextKind.String)).Failure);
        }
    }

    [Fact]
    public void Deployment_names_are_one_to_255_utf8_bytes()
    {
        using var longest = TestKeys.NewRing(new string('\u00e9', 127) + "x");
        var ciphertext = TestKeys.Encrypt(longest, CiphertextAlgorithm.PublicKey, "4111"u8, PlaintextKind.String);
        using (var decryptor = longest.CreateDecryptor())
        {
            Assert.Equal("4111"u8.ToArray(), decryptor.Decrypt(ciphertext, out _));
        }

        Assert.Throws<ArgumentException>(() => TestKeys.NewRing(new string('\u00e9', 128)));
        Assert.Throws<ArgumentException>(() => TestKeys.NewRing(""));
    }
}

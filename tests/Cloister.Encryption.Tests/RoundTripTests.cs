using System.Buffers;
using System.Text;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

public sealed class RoundTripTests
{
    [Fact]
    public void A_document_encrypted_outside_decrypts_inside_to_the_same_values()
    {
        using var ring = new DeploymentKeyRing("cards", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
        var json = """{"card":{"number":"4111 1111 1111 1111","cvc":123,"ok":true,"none":null},"tags":["a","\u00e9"]}"""u8;

        var encrypted = new ArrayBufferWriter<byte>();
        using (var encryptor = ring.CurrentPublicKey.CreateEncryptor())
        {
            JsonLeafCipher.Encrypt(json, encryptor, LeafSelection.All, encrypted);
        }

        Assert.DoesNotContain("4111", Encoding.UTF8.GetString(encrypted.WrittenSpan), StringComparison.Ordinal);
        var decrypted = new ArrayBufferWriter<byte>();
        using (var decryptor = ring.CreateDecryptor())
        {
            JsonLeafCipher.Decrypt(encrypted.WrittenSpan, decryptor, decrypted);
        }

        Assert.Equal("""{"card":{"number":"4111 1111 1111 1111","cvc":123,"ok":true,"none":null},"tags":["a","\u00E9"]}""", Encoding.UTF8.GetString(decrypted.WrittenSpan));
    }

    [Fact]
    public void Another_deployments_ciphertext_is_refused_as_such()
    {
        using var cards = new DeploymentKeyRing("cards", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
        using var phones = new DeploymentKeyRing("phones", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
        byte[] ciphertext;
        using (var encryptor = cards.CreateEncryptor())
        {
            ciphertext = encryptor.Encrypt("4111"u8, PlaintextKind.String);
        }

        using var decryptor = phones.CreateDecryptor();
        var ex = Assert.Throws<CiphertextException>(() => decryptor.Decrypt(ciphertext, out _));
        Assert.Equal(CiphertextFailure.OtherDeployment, ex.Failure);
    }
}

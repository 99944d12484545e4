using System.Buffers;
using System.Text;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;

namespace Cloister.Encryption.Tests;

/// <summary>Failures name fields and offsets, never the values: an error message may reach a log the data must not.</summary>
public sealed class PlaintextLeakTests
{
    private const string Secret = "4111111111111111";

    [Fact]
    public void Invalid_json_after_a_secret_does_not_repeat_it()
    {
        using var ring = TestKeys.NewRing();
        foreach (var json in new[] { $"{{\"card\":\"{Secret}\",}}", $"[\"{Secret}\" \"x\"]", $"{{\"card\":{Secret}x}}", $"[\"{Secret}\\q\"]" })
        {
            using var encryptor = ring.CreateEncryptor();
            var output = new ArrayBufferWriter<byte>();
            var ex = Assert.Throws<CiphertextException>(() => JsonLeafCipher.Encrypt(Encoding.UTF8.GetBytes(json), encryptor, LeafSelection.All, output));
            AssertNoSecret(ex);
        }
    }

    [Fact]
    public void Decryption_failures_of_every_kind_do_not_repeat_the_plaintext()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        var plaintext = Encoding.UTF8.GetBytes(Secret);
        string[] documents =
        [
            $"[\"{encryptor.EncryptToString(plaintext, PlaintextKind.Bytes)}\"]",
            $"[\"{encryptor.EncryptToString(plaintext, PlaintextKind.Boolean)}\"]",
            $"[\"{encryptor.EncryptToString(Encoding.UTF8.GetBytes(Secret + "x"), PlaintextKind.Number)}\"]",
            $"[\"{encryptor.EncryptToString([.. plaintext, 0xff], PlaintextKind.String)}\"]",
        ];
        foreach (var document in documents)
        {
            AssertNoSecret(Assert.Throws<CiphertextException>(() => JsonDocuments.Decrypt(ring, document)));
        }
    }

    [Fact]
    public void A_tampered_ciphertext_leaves_no_plaintext_in_the_destination()
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, CiphertextAlgorithm.PublicKey, Encoding.UTF8.GetBytes(Secret), PlaintextKind.String);
        ciphertext[^1] ^= 1;
        var destination = new byte[ciphertext.Length];
        destination.AsSpan().Fill(0xaa);
        using var decryptor = ring.CreateDecryptor();
        var ex = Assert.Throws<CiphertextException>(() => decryptor.Decrypt(ciphertext, destination, out _));
        Assert.Equal(CiphertextFailure.Tampered, ex.Failure);
        Assert.Equal(new byte[Secret.Length], destination[..Secret.Length]);
    }

    private static void AssertNoSecret(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret[..6], e.Message, StringComparison.Ordinal);
        }
    }
}

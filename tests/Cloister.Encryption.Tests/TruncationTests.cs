using Cloister.Encryption.Ciphertexts;

namespace Cloister.Encryption.Tests;

/// <summary>Every prefix of a ciphertext, as bytes and as text, fails with a <see cref="CiphertextException"/>.</summary>
public sealed class TruncationTests
{
    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void Every_shorter_byte_length_fails(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        var ciphertext = encryptor.Encrypt("4111"u8, PlaintextKind.String);
        using var decryptor = ring.CreateDecryptor();
        for (var length = 0; length < ciphertext.Length; length++)
        {
            var ex = Assert.Throws<CiphertextException>(() => decryptor.Decrypt(ciphertext.AsSpan(0, length), out _));
            // Shorter than the overhead there is no tag to check; from there on, the tag is the wrong bytes.
            Assert.Equal(length < encryptor.Overhead ? CiphertextFailure.Malformed : CiphertextFailure.Tampered, ex.Failure);
        }
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void Every_shorter_text_fails(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        var text = encryptor.EncryptToString("4111"u8, PlaintextKind.String);
        using var decryptor = ring.CreateDecryptor();
        for (var length = 0; length < text.Length; length++)
        {
            var ex = Assert.Throws<CiphertextException>(() => decryptor.DecryptString(text[..length], out _));
            Assert.Contains(ex.Failure, new[] { CiphertextFailure.Malformed, CiphertextFailure.Tampered });
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("cl")]
    [InlineData("CL:AQEB")]
    [InlineData("cl:")]
    [InlineData("cl:A")]
    [InlineData("cl:AQEB=")]
    [InlineData("cl:AQ+B")]
    [InlineData("cl:AQ/B")]
    [InlineData("cl:AQ.B")]
    [InlineData("cl:AQ\u00e9B")]
    public void Text_that_is_not_cl_and_base64url_is_malformed(string text)
    {
        using var ring = TestKeys.NewRing();
        using var decryptor = ring.CreateDecryptor();
        var ex = Assert.Throws<CiphertextException>(() => decryptor.DecryptString(text, out _));
        Assert.Equal(CiphertextFailure.Malformed, ex.Failure);
    }

    [Fact]
    public void The_text_form_has_one_spelling_without_padding_or_white_space()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        // 5 bytes of plaintext make a 64-byte ciphertext, which padded base64 would end with "==".
        var encoded = encryptor.EncryptToString("12345"u8, PlaintextKind.String)[3..];
        using var decryptor = ring.CreateDecryptor();
        Assert.Equal("12345"u8.ToArray(), decryptor.DecryptString("cl:" + encoded, out _));
        foreach (var variant in new[] { encoded + "==", " " + encoded, encoded + "\n", encoded + "\t", encoded[..10] + " " + encoded[10..], encoded[..10] + "\r\n" + encoded[10..] })
        {
            Assert.Equal(CiphertextFailure.Malformed, Assert.Throws<CiphertextException>(() => decryptor.DecryptString("cl:" + variant, out _)).Failure);
        }
    }

    [Fact]
    public void Bytes_appended_to_a_ciphertext_fail_authentication()
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "4111"u8, PlaintextKind.String);
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, [.. ciphertext, 0]).Failure);
    }
}

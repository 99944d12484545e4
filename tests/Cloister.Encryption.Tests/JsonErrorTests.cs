using System.Buffers;
using System.Text;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;

namespace Cloister.Encryption.Tests;

/// <summary>What a JSON document can get wrong, each reported as a <see cref="CiphertextException"/> with its reason.</summary>
public sealed class JsonErrorTests
{
    [Theory]
    [InlineData("{\"a\":", 5)]
    [InlineData("{\"a\" 1}", 5)]
    [InlineData("[1,]", 3)]
    [InlineData("{\"a\":1}}", 7)]
    [InlineData("1 2", 2)]
    [InlineData("// c\n1", 0)]
    [InlineData("[\"a\"] x", 6)]
    [InlineData("\"unterminated", 0)]
    public void Invalid_json_is_reported_with_a_byte_offset(string json, int offset)
    {
        foreach (var direction in Directions())
        {
            var ex = Assert.Throws<CiphertextException>(() => direction(Encoding.UTF8.GetBytes(json)));
            Assert.Equal(CiphertextFailure.InvalidJson, ex.Failure);
            Assert.Contains($"at byte {offset}", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    public void An_empty_body_is_invalid_json(string json)
    {
        foreach (var direction in Directions())
        {
            Assert.Equal(CiphertextFailure.InvalidJson, Assert.Throws<CiphertextException>(() => direction(Encoding.UTF8.GetBytes(json))).Failure);
        }
    }

    [Fact]
    public void More_than_64_levels_is_invalid_json()
    {
        var json = Encoding.UTF8.GetBytes(new string('[', 65) + new string(']', 65));
        foreach (var direction in Directions())
        {
            Assert.Equal(CiphertextFailure.InvalidJson, Assert.Throws<CiphertextException>(() => direction(json)).Failure);
        }
    }

    [Theory]
    [InlineData(new byte[] { (byte)'"', 0xff, (byte)'"' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xc3, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    [InlineData(new byte[] { (byte)'[', (byte)'"', (byte)'a', 0xed, 0xa0, 0x80, (byte)'"', (byte)']' })]
    public void Text_that_is_not_utf8_is_invalid_json(byte[] json)
    {
        foreach (var direction in Directions())
        {
            Assert.Equal(CiphertextFailure.InvalidJson, Assert.Throws<CiphertextException>(() => direction(json)).Failure);
        }
    }

    [Theory]
    [InlineData("[\"\\ud800\"]")]
    [InlineData("[\"a\\udc00b\"]")]
    [InlineData("{\"\\ud800\":1}")]
    public void An_escaped_lone_surrogate_is_invalid_json(string json)
    {
        foreach (var direction in Directions())
        {
            Assert.Equal(CiphertextFailure.InvalidJson, Assert.Throws<CiphertextException>(() => direction(Encoding.UTF8.GetBytes(json))).Failure);
        }
    }

    [Fact]
    public void A_disposed_encryptor_is_not_reported_as_invalid_json()
    {
        using var ring = TestKeys.NewRing();
        var encryptor = ring.CreateEncryptor();
        encryptor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => JsonLeafCipher.Encrypt("[\"a\"]"u8, encryptor, LeafSelection.Strings, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void A_bytes_ciphertext_inside_json_is_the_wrong_form()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CurrentPublicKey.CreateEncryptor();
        var body = encryptor.EncryptToString("{\"whole\":\"body\"}"u8, PlaintextKind.Bytes);
        var ex = Assert.Throws<CiphertextException>(() => JsonDocuments.Decrypt(ring, $"{{\"b\":\"{body}\"}}"));
        Assert.Equal(CiphertextFailure.WrongForm, ex.Failure);
        Assert.Contains("at byte 5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("octet-stream", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CiphertextFailure.Malformed)]
    [InlineData(CiphertextFailure.OtherDeployment)]
    [InlineData(CiphertextFailure.Tampered)]
    public void A_ciphertext_that_fails_inside_json_keeps_its_reason_and_names_its_offset(CiphertextFailure failure)
    {
        using var ring = TestKeys.NewRing();
        using var other = TestKeys.NewRing();
        using var encryptor = (failure == CiphertextFailure.OtherDeployment ? other : ring).CreateEncryptor();
        var text = encryptor.EncryptToString("4111"u8, PlaintextKind.String);
        text = failure switch
        {
            CiphertextFailure.Malformed => "cl:not base64!",
            CiphertextFailure.Tampered => text[..^1] + (text[^1] == 'A' ? 'B' : 'A'),
            _ => text,
        };
        var ex = Assert.Throws<CiphertextException>(() => JsonDocuments.Decrypt(ring, $"[\"plain\",\"{text}\"]"));
        Assert.Equal(failure, ex.Failure);
        Assert.StartsWith("the string at byte 9: ", ex.Message, StringComparison.Ordinal);
        Assert.IsType<CiphertextException>(ex.InnerException);
    }

    private static IEnumerable<Action<byte[]>> Directions()
    {
        using var ring = TestKeys.NewRing();
        yield return json =>
        {
            using var encryptor = ring.CreateEncryptor();
            JsonLeafCipher.Encrypt(json, encryptor, LeafSelection.All, new ArrayBufferWriter<byte>());
        };
        yield return json =>
        {
            using var decryptor = ring.CreateDecryptor();
            JsonLeafCipher.Decrypt(json, decryptor, new ArrayBufferWriter<byte>());
        };
    }
}

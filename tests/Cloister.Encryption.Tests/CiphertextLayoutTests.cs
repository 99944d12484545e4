using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>
/// The byte format of docs/encryption.md, checked field by field and then decrypted here with nothing but the BCL's
/// HKDF, ECDH and AES-GCM, so the format is what the document says and not only what the decryptor reads.
/// </summary>
public sealed class CiphertextLayoutTests
{
    private static readonly DeploymentKeyId KeyId = new(0x0123456789abcdefUL);
    private static readonly byte[] Plaintext = "4111 1111 1111 1111"u8.ToArray();

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey, 16)]
    [InlineData(CiphertextAlgorithm.PublicKey, 97)]
    public void Every_field_is_at_its_offset(CiphertextAlgorithm algorithm, int materialSize)
    {
        var key = ExportedKey.Generate(7);
        using var ring = TestKeys.Ring("cards", KeyId, 7, key);
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        var ciphertext = encryptor.Encrypt(Plaintext, PlaintextKind.String);

        var overhead = 15 + materialSize + 12 + 16;
        Assert.Equal(overhead, encryptor.Overhead);
        Assert.Equal(Plaintext.Length + overhead, ciphertext.Length);
        Assert.Equal(ciphertext.Length, encryptor.GetCiphertextLength(Plaintext.Length));
        Assert.Equal(1, ciphertext[0]);
        Assert.Equal((byte)algorithm, ciphertext[1]);
        Assert.Equal((byte)PlaintextKind.String, ciphertext[2]);
        Assert.Equal(Convert.FromHexString("0123456789abcdef"), ciphertext[3..11]);
        Assert.Equal(new byte[] { 0, 0, 0, 7 }, ciphertext[11..15]);
        if (algorithm == CiphertextAlgorithm.PublicKey)
        {
            Assert.Equal(0x04, ciphertext[15]);
        }

        Assert.Equal(Plaintext, OpenIndependently(key, "cards", ciphertext));
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void The_kind_byte_is_the_kind_given_and_each_value_gets_its_own_nonce(CiphertextAlgorithm algorithm)
    {
        var key = ExportedKey.Generate(1);
        using var ring = TestKeys.Ring("cards", KeyId, 1, key);
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        var header = encryptor.Overhead - 28;
        var nonces = new HashSet<string>();
        foreach (var kind in Enum.GetValues<PlaintextKind>())
        {
            var ciphertext = encryptor.Encrypt("1"u8, kind);
            Assert.Equal((byte)kind, ciphertext[2]);
            Assert.True(nonces.Add(Convert.ToHexString(ciphertext, header, 12)));
            Assert.Equal("1"u8.ToArray(), OpenIndependently(key, "cards", ciphertext));
        }
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void No_nonce_repeats_within_an_encryptor_or_across_two(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        var nonces = new HashSet<string>();
        for (var encryptors = 0; encryptors < 2; encryptors++)
        {
            using var encryptor = TestKeys.Encryptor(ring, algorithm);
            var header = encryptor.Overhead - 28;
            for (var i = 0; i < 5000; i++)
            {
                Assert.True(nonces.Add(Convert.ToHexString(encryptor.Encrypt([], PlaintextKind.String), header, 12)));
            }
        }
    }

    [Fact]
    public void Encryptors_of_one_ring_draw_fresh_salts()
    {
        using var ring = TestKeys.NewRing();
        var first = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "x"u8, PlaintextKind.String);
        var second = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "x"u8, PlaintextKind.String);
        Assert.NotEqual(first[15..31], second[15..31]);
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void An_empty_plaintext_is_the_overhead_alone(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        var ciphertext = encryptor.Encrypt([], PlaintextKind.String);
        Assert.Equal(encryptor.Overhead, ciphertext.Length);
        using var decryptor = ring.CreateDecryptor();
        Assert.Empty(decryptor.Decrypt(ciphertext, out var kind));
        Assert.Equal(PlaintextKind.String, kind);
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void The_text_form_is_cl_and_unpadded_base64url_of_the_bytes(CiphertextAlgorithm algorithm)
    {
        var key = ExportedKey.Generate(1);
        using var ring = TestKeys.Ring("cards", KeyId, 1, key);
        using var encryptor = TestKeys.Encryptor(ring, algorithm);
        // Lengths of each remainder mod 3, so the base64url tail has 0, 2 and 3 characters.
        foreach (var length in new[] { 0, 1, 2, 3, 4, 5, 200 })
        {
            var plaintext = RandomNumberGenerator.GetBytes(length);
            var text = encryptor.EncryptToString(plaintext, PlaintextKind.String);
            Assert.StartsWith("cl:", text, StringComparison.Ordinal);
            Assert.Matches("^cl:[A-Za-z0-9_-]+$", text);
            Assert.Equal(encryptor.GetTextLength(length), text.Length);
            var bytes = Base64Url.DecodeFromChars(text.AsSpan(3));
            Assert.Equal(length + encryptor.Overhead, bytes.Length);
            Assert.Equal(plaintext, OpenIndependently(key, "cards", bytes));

            var utf8 = new byte[encryptor.GetTextLength(length)];
            Assert.Equal(utf8.Length, encryptor.EncryptToText(plaintext, PlaintextKind.String, utf8));
            Assert.Equal(plaintext, OpenIndependently(key, "cards", Base64Url.DecodeFromUtf8(utf8.AsSpan(3))));
            using var decryptor = ring.CreateDecryptor();
            Assert.Equal(plaintext, decryptor.DecryptString(text, out _));
            Assert.Equal(plaintext, decryptor.DecryptText(utf8, out _));
        }
    }

    [Fact]
    public void Destinations_too_short_are_argument_errors()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        Assert.Throws<ArgumentException>(() => encryptor.Encrypt("abc"u8, PlaintextKind.String, new byte[encryptor.GetCiphertextLength(3) - 1]));
        Assert.Throws<ArgumentException>(() => encryptor.EncryptToText("abc"u8, PlaintextKind.String, new byte[encryptor.GetTextLength(3) - 1]));
        var ciphertext = encryptor.Encrypt("abc"u8, PlaintextKind.String);
        using var decryptor = ring.CreateDecryptor();
        Assert.Equal(3, LeafDecryptor.GetMaxPlaintextLength(ciphertext.Length));
        Assert.Equal(0, LeafDecryptor.GetMaxPlaintextLength(5));
        Assert.Throws<ArgumentException>(() => decryptor.Decrypt(ciphertext, new byte[2], out _));
    }

    [Fact]
    public void A_kind_outside_the_format_is_refused_when_encrypting()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        Assert.Throws<ArgumentOutOfRangeException>(() => encryptor.Encrypt("a"u8, (PlaintextKind)4));
    }

    // The format as docs/encryption.md gives it, from the exported keys alone.
    private static byte[] OpenIndependently(ExportedKey key, string deployment, byte[] ciphertext)
    {
        var algorithm = (CiphertextAlgorithm)ciphertext[1];
        var headerLength = algorithm == CiphertextAlgorithm.DataKey ? 31 : 112;
        var header = ciphertext[..headerLength];
        var material = ciphertext[15..headerLength];
        var info = new List<byte>();
        var aesKey = new byte[32];
        if (algorithm == CiphertextAlgorithm.DataKey)
        {
            info.AddRange("cloister data key v1"u8.ToArray());
            info.AddRange(ciphertext[3..15]);
            HKDF.DeriveKey(HashAlgorithmName.SHA384, key.DataKey, aesKey, material, [.. info]);
        }
        else
        {
            using var recipient = key.ImportAgreement();
            using var sender = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP384,
                Q = new ECPoint { X = material[1..49], Y = material[49..97] },
            });
            var secret = recipient.DeriveRawSecretAgreement(sender.PublicKey);
            info.AddRange("cloister public key v1"u8.ToArray());
            info.AddRange(ciphertext[3..15]);
            info.AddRange(recipient.ExportSubjectPublicKeyInfo());
            info.AddRange(material);
            HKDF.DeriveKey(HashAlgorithmName.SHA384, secret, aesKey, [], [.. info]);
        }

        var name = Encoding.UTF8.GetBytes(deployment);
        byte[] associatedData = [.. "cloister ciphertext v1"u8, (byte)name.Length, .. name, .. header];
        var body = ciphertext[(headerLength + 12)..];
        var plaintext = new byte[body.Length - 16];
        using var aes = new AesGcm(aesKey, 16);
        aes.Decrypt(ciphertext.AsSpan(headerLength, 12), body.AsSpan(0, plaintext.Length), body.AsSpan(plaintext.Length), plaintext, associatedData);
        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(ciphertext.AsSpan(11)), (uint)key.Version);
        return plaintext;
    }
}

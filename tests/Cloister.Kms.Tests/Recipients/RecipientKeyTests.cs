using System.Security.Cryptography;
using System.Text;
using Cloister.Kms.Recipients;

namespace Cloister.Kms.Tests.Recipients;

public sealed class RecipientKeyTests
{
    // Offsets in the vector (openssl asn1parse): the EnvelopedData and KeyTransRecipientInfo version values, the rid,
    // the contentType OID's last byte, the encryptedKey, and the IV and the one encrypted chunk.
    private const int EnvelopedVersionAt = 19;
    private const int RecipientVersionAt = 30;
    private const int RidAt = 33;
    private const int ContentTypeLastByteAt = 12;
    private const int EncryptedKeyAt = 131;
    private const int IvAt = 415;
    private const int ContentAt = 435;

    private static readonly Lazy<RecipientKey> s_other = new(() => new RecipientKey());

    [Fact]
    public void The_KMS_vector_decrypts_with_its_key_and_its_rid_is_SHA256_of_the_keys_SPKI()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;

        Assert.Equal(CmsFixtures.VectorPlaintext, key.Decrypt(cms));
        Assert.Equal("Hello, World", Encoding.ASCII.GetString(key.Decrypt(cms)));
        Assert.Equal(cms.AsSpan(RidAt, 32).ToArray(), key.KeyIdentifier.ToArray());
        Assert.Equal(SHA256.HashData(key.SubjectPublicKeyInfo.Span), key.KeyIdentifier.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(5000)]
    public void A_DER_EnvelopedCms_from_the_BCL_decrypts(int length)
    {
        using var key = new RecipientKey();
        var plaintext = RandomNumberGenerator.GetBytes(length);

        Assert.Equal(plaintext, key.Decrypt(CmsFixtures.Encrypt(plaintext, key.SubjectPublicKeyInfo)));
    }

    [Fact]
    public void Fresh_keys_are_RSA_2048_and_differ()
    {
        using var a = new RecipientKey();
        using var b = new RecipientKey();
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(a.SubjectPublicKeyInfo.Span, out _);

        Assert.Equal(2048, rsa.KeySize);
        Assert.NotEqual(a.KeyIdentifier.ToArray(), b.KeyIdentifier.ToArray());
    }

    [Theory]
    [InlineData(EnvelopedVersionAt, "EnvelopedData.version")]
    [InlineData(RecipientVersionAt, "KeyTransRecipientInfo.version")]
    public void Another_version_is_refused(int offset, string field)
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[offset] = 3;

        var ex = Refused(key, cms, RecipientCiphertextFailure.UnsupportedVersion);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"byte offset {offset - 2}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_recipients_are_refused()
    {
        using var key = new RecipientKey();
        var cms = CmsFixtures.Encrypt([1, 2, 3], [key.SubjectPublicKeyInfo, s_other.Value.SubjectPublicKeyInfo]);

        Refused(key, cms, RecipientCiphertextFailure.UnsupportedRecipients);
    }

    [Fact]
    public void The_vector_is_refused_by_another_key_before_any_RSA()
    {
        var ex = Refused(s_other.Value, CmsFixtures.VectorCiphertext, RecipientCiphertextFailure.OtherRecipient);

        Assert.Contains("for another key", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RidAt - 2, ex.Offset);
    }

    [Fact]
    public void A_ciphertext_for_another_key_is_refused()
    {
        using var key = new RecipientKey();

        Refused(key, CmsFixtures.Encrypt([1], s_other.Value.SubjectPublicKeyInfo), RecipientCiphertextFailure.OtherRecipient);
    }

    [Fact]
    public void A_changed_rid_is_refused()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[RidAt + 31] ^= 1;

        Refused(key, cms, RecipientCiphertextFailure.OtherRecipient);
    }

    [Fact]
    public void PKCS1_v1_5_key_encryption_is_refused()
    {
        using var key = new RecipientKey();

        var ex = Refused(key, CmsFixtures.Encrypt([1], key.SubjectPublicKeyInfo, RSAEncryptionPadding.Pkcs1), RecipientCiphertextFailure.UnsupportedKeyEncryption);
        Assert.Contains("PKCS#1 v1.5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OAEP_with_SHA1_is_refused()
    {
        using var key = new RecipientKey();

        var ex = Refused(key, CmsFixtures.Encrypt([1], key.SubjectPublicKeyInfo, RSAEncryptionPadding.OaepSHA1), RecipientCiphertextFailure.UnsupportedKeyEncryption);
        Assert.Contains("SHA-1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OAEP_with_SHA384_is_refused()
    {
        using var key = new RecipientKey();

        Refused(key, CmsFixtures.Encrypt([1], key.SubjectPublicKeyInfo, RSAEncryptionPadding.OaepSHA384), RecipientCiphertextFailure.UnsupportedKeyEncryption);
    }

    [Fact]
    public void AES_128_is_refused()
    {
        using var key = new RecipientKey();

        Refused(key, CmsFixtures.Encrypt([1], key.SubjectPublicKeyInfo, contentEncryption: CmsFixtures.Aes128Cbc), RecipientCiphertextFailure.UnsupportedContentEncryption);
    }

    [Fact]
    public void Content_of_another_type_than_data_is_refused()
    {
        using var key = new RecipientKey();

        // EnvelopedCms wants other types' content as DER: an OCTET STRING here.
        Refused(key, CmsFixtures.Encrypt([0x04, 0x01, 0x01], key.SubjectPublicKeyInfo, contentType: "1.2.840.113549.1.7.2"), RecipientCiphertextFailure.UnsupportedContentType);
    }

    [Fact]
    public void Another_ContentInfo_type_is_refused()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[ContentTypeLastByteAt] = 2;

        Refused(key, cms, RecipientCiphertextFailure.NotEnvelopedData);
    }

    [Fact]
    public void A_changed_encrypted_key_does_not_decrypt()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[EncryptedKeyAt + 100] ^= 1;

        var ex = Refused(key, cms, RecipientCiphertextFailure.KeyDecryptionFailed);
        Assert.Equal(EncryptedKeyAt - 4, ex.Offset);
    }

    [Fact]
    public void A_changed_last_block_fails_its_padding()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[ContentAt + 15] ^= 1;

        Refused(key, cms, RecipientCiphertextFailure.ContentDecryptionFailed);
    }

    [Fact]
    public void Truncation_at_every_length_is_malformed()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;

        for (var length = 0; length < cms.Length; length++)
        {
            Refused(key, cms[..length], RecipientCiphertextFailure.Malformed);
        }
    }

    [Fact]
    public void A_DER_ciphertext_truncated_at_every_length_is_malformed()
    {
        using var key = new RecipientKey();
        var cms = CmsFixtures.Encrypt([1, 2, 3], key.SubjectPublicKeyInfo);

        for (var length = 0; length < cms.Length; length++)
        {
            Refused(key, cms[..length], RecipientCiphertextFailure.Malformed);
        }
    }

    [Fact]
    public void Trailing_bytes_are_malformed()
    {
        using var key = CmsFixtures.VectorKey();

        var ex = Refused(key, [.. CmsFixtures.VectorCiphertext, 0], RecipientCiphertextFailure.Malformed);
        Assert.Contains("unexpected bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_flipped_byte_is_refused_except_in_the_IV_and_content_where_CBC_has_no_integrity()
    {
        using var key = CmsFixtures.VectorKey();
        var original = CmsFixtures.VectorCiphertext;

        for (var i = 0; i < original.Length; i++)
        {
            var cms = (byte[])original.Clone();
            cms[i] ^= 0x01;
            try
            {
                var plaintext = key.Decrypt(cms);
                // CBC: a changed IV byte changes the same plaintext byte, and the padding can stay valid. KMS's answer
                // is authenticated by TLS to KMS, not by the CMS.
                Assert.InRange(i, IvAt, ContentAt + 15);
                Assert.NotEqual(CmsFixtures.VectorPlaintext, plaintext);
            }
            catch (RecipientCiphertextException ex)
            {
                Assert.DoesNotContain('\n', ex.Message);
            }
        }
    }

    [Fact]
    public void Over_64_KiB_is_refused_unread()
    {
        using var key = new RecipientKey();

        Refused(key, new byte[RecipientKey.MaxCiphertextLength + 1], RecipientCiphertextFailure.TooLarge);
    }

    [Fact]
    public void Errors_are_one_line_with_the_field_and_offset()
    {
        using var key = CmsFixtures.VectorKey();
        var cms = CmsFixtures.VectorCiphertext;
        cms[EnvelopedVersionAt] = 0;

        var ex = Refused(key, cms, RecipientCiphertextFailure.UnsupportedVersion);
        Assert.Equal("recipient ciphertext (UnsupportedVersion) at byte offset 17: EnvelopedData.version is not 2, the version KMS writes", ex.Message);
    }

    [Fact]
    public void A_disposed_key_decrypts_nothing()
    {
        var key = new RecipientKey();
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.Decrypt(CmsFixtures.VectorCiphertext));
    }

    private static RecipientCiphertextException Refused(RecipientKey key, byte[] cms, RecipientCiphertextFailure failure)
    {
        var ex = Assert.Throws<RecipientCiphertextException>(() => key.Decrypt(cms));
        Assert.True(ex.Failure == failure, $"{failure} expected for {cms.Length} bytes: {ex.Message}");
        Assert.DoesNotContain('\n', ex.Message);
        return ex;
    }
}

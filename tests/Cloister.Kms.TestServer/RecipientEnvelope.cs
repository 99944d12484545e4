using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Cloister.Kms.TestServer;

/// <summary>
/// Writes <c>CiphertextForRecipient</c> as KMS does: a CMS ContentInfo (RFC 5652) holding EnvelopedData version 2
/// with one KeyTransRecipientInfo version 2, in BER with indefinite lengths, in the shape of the real KMS answer kept
/// in vectors/kms/enclaver_ciphertext-for-recipient.ber:
/// <code>
/// ContentInfo ∞ { id-envelopedData, [0] ∞ { EnvelopedData ∞ {
///   version 2,
///   SET (definite) { KeyTransRecipientInfo (definite) { version 2, [0] subjectKeyIdentifier = SHA-256(SPKI DER),
///     rsaesOaep { [0] sha256 NULL, [1] mgf1 { sha256 NULL } }, OCTET STRING encryptedKey } },
///   EncryptedContentInfo ∞ { id-data, { aes256-CBC, OCTET STRING iv(16) }, [0] ∞ { OCTET STRING chunk … } } } } }
/// </code>
/// The vector's content is one 16-byte chunk, so it does not show KMS's chunk size for longer content; this writer
/// uses 1000-byte chunks, the default of BouncyCastle's BER octet string generator whose output the vector's
/// indefinite/definite pattern matches.
/// </summary>
internal static class RecipientEnvelope
{
    public const int ChunkLength = 1000;

    private const string EnvelopedData = "1.2.840.113549.1.7.3";
    private const string Data = "1.2.840.113549.1.7.1";
    private const string RsaesOaep = "1.2.840.113549.1.1.7";
    private const string Mgf1 = "1.2.840.113549.1.1.8";
    private const string Sha256 = "2.16.840.1.101.3.4.2.1";
    private const string Aes256Cbc = "2.16.840.1.101.3.4.1.42";

    /// <summary>Encrypts <paramref name="plaintext"/> to the RSA key whose SubjectPublicKeyInfo is <paramref name="recipientSpki"/>.</summary>
    public static byte[] Write(ReadOnlySpan<byte> plaintext, byte[] recipientSpki)
    {
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(recipientSpki, out _);
        using var aes = Aes.Create();
        aes.KeySize = 256;
        aes.GenerateKey();
        aes.GenerateIV();
        var encryptedKey = rsa.Encrypt(aes.Key, RSAEncryptionPadding.OaepSHA256);
        var content = aes.EncryptCbc(plaintext, aes.IV, PaddingMode.PKCS7);

        var recipientInfos = new AsnWriter(AsnEncodingRules.DER);
        using (recipientInfos.PushSetOf())
        {
            using (recipientInfos.PushSequence())
            {
                recipientInfos.WriteInteger(2);
                recipientInfos.WriteOctetString(SHA256.HashData(recipientSpki), new Asn1Tag(TagClass.ContextSpecific, 0));
                using (recipientInfos.PushSequence())
                {
                    recipientInfos.WriteObjectIdentifier(RsaesOaep);
                    using (recipientInfos.PushSequence())
                    {
                        using (recipientInfos.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                        {
                            WriteSha256(recipientInfos);
                        }

                        using (recipientInfos.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
                        using (recipientInfos.PushSequence())
                        {
                            recipientInfos.WriteObjectIdentifier(Mgf1);
                            WriteSha256(recipientInfos);
                        }
                    }
                }

                recipientInfos.WriteOctetString(encryptedKey);
            }
        }

        var contentAlgorithm = new AsnWriter(AsnEncodingRules.DER);
        contentAlgorithm.WriteObjectIdentifier(Data);
        using (contentAlgorithm.PushSequence())
        {
            contentAlgorithm.WriteObjectIdentifier(Aes256Cbc);
            contentAlgorithm.WriteOctetString(aes.IV);
        }

        var version = new AsnWriter(AsnEncodingRules.DER);
        version.WriteInteger(2);
        var contentType = new AsnWriter(AsnEncodingRules.DER);
        contentType.WriteObjectIdentifier(EnvelopedData);

        using var output = new MemoryStream();
        output.Write([0x30, 0x80]);
        output.Write(contentType.Encode());
        output.Write([0xA0, 0x80, 0x30, 0x80]);
        output.Write(version.Encode());
        output.Write(recipientInfos.Encode());
        output.Write([0x30, 0x80]);
        output.Write(contentAlgorithm.Encode());
        output.Write([0xA0, 0x80]);
        for (var offset = 0; offset < content.Length; offset += ChunkLength)
        {
            var chunk = new AsnWriter(AsnEncodingRules.DER);
            chunk.WriteOctetString(content.AsSpan(offset, Math.Min(ChunkLength, content.Length - offset)));
            output.Write(chunk.Encode());
        }

        // End-of-contents for [0] encryptedContent, EncryptedContentInfo, EnvelopedData, [0] content, ContentInfo.
        output.Write(new byte[10]);
        return output.ToArray();
    }

    private static void WriteSha256(AsnWriter writer)
    {
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(Sha256);
            writer.WriteNull();
        }
    }
}

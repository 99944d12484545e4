using System.Formats.Asn1;
using System.Runtime.InteropServices;

namespace Cloister.Kms.Recipients;

/// <summary>The parts of a recipient ciphertext that decryption needs, with the offsets its errors name.</summary>
internal sealed record RecipientCiphertextParts(
    byte[] EncryptedKey,
    long EncryptedKeyOffset,
    byte[] InitializationVector,
    byte[] EncryptedContent,
    long EncryptedContentOffset);

/// <summary>
/// Reads the one CMS form KMS writes for a Recipient (RFC 5652 EnvelopedData, as Enclaver's pkcs7.rs accepts it) and
/// refuses every other: ContentInfo envelopedData; EnvelopedData v2 without originatorInfo or unprotectedAttrs; exactly
/// one KeyTransRecipientInfo v2 whose rid is the subjectKeyIdentifier of the expected key; RSAES-OAEP with SHA-256 and
/// MGF1-SHA-256 written out; content of type data under AES-256-CBC with a 16-byte IV, primitive or in chunks.
/// </summary>
internal static class RecipientCiphertextReader
{
    public const int ContentKeySize = 32;
    public const int BlockSize = 16;

    private const string EnvelopedDataOid = "1.2.840.113549.1.7.3";
    private const string DataOid = "1.2.840.113549.1.7.1";
    private const string RsaesOaepOid = "1.2.840.113549.1.1.7";
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";
    private const string Mgf1Oid = "1.2.840.113549.1.1.8";
    private const string PSpecifiedOid = "1.2.840.113549.1.1.9";
    private const string Sha256Oid = "2.16.840.1.101.3.4.2.1";
    private const string Aes256CbcOid = "2.16.840.1.101.3.4.1.42";
    private const int CmsVersion = 2;

    private static readonly Asn1Tag Context0 = new(TagClass.ContextSpecific, 0);
    private static readonly Asn1Tag Context1 = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag Context2 = new(TagClass.ContextSpecific, 2);

    /// <summary>Reads <paramref name="cms"/>, checking its rid against <paramref name="keyIdentifier"/>.</summary>
    /// <exception cref="RecipientCiphertextException">It is not the form KMS writes, or is for another key.</exception>
    public static RecipientCiphertextParts Read(byte[] cms, ReadOnlySpan<byte> keyIdentifier)
    {
        var cursor = new Cursor();
        try
        {
            return Read(cms, keyIdentifier, cursor);
        }
        catch (AsnContentException ex)
        {
            throw new RecipientCiphertextException(RecipientCiphertextFailure.Malformed, cursor.Offset, $"{cursor.Field} is not valid BER: {ex.Message}", ex);
        }
    }

    private static RecipientCiphertextParts Read(byte[] cms, ReadOnlySpan<byte> keyIdentifier, Cursor at)
    {
        var top = new AsnReader(cms, AsnEncodingRules.BER);
        at.Move(top, "ContentInfo");
        var contentInfo = top.ReadSequence();
        End(top, at, "ContentInfo");

        at.Move(contentInfo, "ContentInfo.contentType");
        var contentType = contentInfo.ReadObjectIdentifier();
        if (contentType != EnvelopedDataOid)
        {
            throw at.Fail(RecipientCiphertextFailure.NotEnvelopedData, $"is {contentType}, not envelopedData ({EnvelopedDataOid})");
        }

        at.Move(contentInfo, "ContentInfo.content");
        var content = contentInfo.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
        End(contentInfo, at, "ContentInfo");
        at.Move(content, "EnvelopedData");
        var enveloped = content.ReadSequence();
        End(content, at, "ContentInfo.content");

        Version(enveloped, at, "EnvelopedData.version");
        at.Move(enveloped, "EnvelopedData.originatorInfo");
        if (enveloped.HasData && enveloped.PeekTag().HasSameClassAndValue(Context0))
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedField, "is present; KMS writes none");
        }

        at.Move(enveloped, "EnvelopedData.recipientInfos");
        var recipients = enveloped.ReadSetOf(skipSortOrderValidation: true);
        var (encryptedKey, keyOffset) = ReadRecipient(recipients, keyIdentifier, at);

        at.Move(enveloped, "EnvelopedData.encryptedContentInfo");
        var encryptedContentInfo = enveloped.ReadSequence();
        var (iv, encryptedContent, contentOffset) = ReadEncryptedContent(encryptedContentInfo, at);

        at.Move(enveloped, "EnvelopedData.unprotectedAttrs");
        if (enveloped.HasData && enveloped.PeekTag().HasSameClassAndValue(Context1))
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedField, "is present; KMS writes none");
        }

        End(enveloped, at, "EnvelopedData");
        return new RecipientCiphertextParts(encryptedKey, keyOffset, iv, encryptedContent, contentOffset);
    }

    private static (byte[] EncryptedKey, long Offset) ReadRecipient(AsnReader recipients, ReadOnlySpan<byte> keyIdentifier, Cursor at)
    {
        at.Move(recipients, "RecipientInfo");
        if (!recipients.HasData)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedRecipients, "recipientInfos is empty");
        }

        var tag = recipients.PeekTag();
        if (tag != Asn1Tag.Sequence)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedRecipients, $"is {Describe(tag)}, not a KeyTransRecipientInfo (SEQUENCE)");
        }

        var recipient = recipients.ReadSequence();
        at.Move(recipients, "recipientInfos");
        if (recipients.HasData)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedRecipients, "holds more than one recipient; KMS writes exactly one");
        }

        Version(recipient, at, "KeyTransRecipientInfo.version");
        at.Move(recipient, "KeyTransRecipientInfo.rid");
        if (!recipient.PeekTag().HasSameClassAndValue(Context0))
        {
            throw at.Fail(RecipientCiphertextFailure.OtherRecipient, "is an issuerAndSerialNumber, not a subjectKeyIdentifier");
        }

        var rid = recipient.ReadOctetString(Context0);
        if (!rid.AsSpan().SequenceEqual(keyIdentifier))
        {
            throw at.Fail(
                RecipientCiphertextFailure.OtherRecipient,
                $"is subjectKeyIdentifier {Convert.ToHexStringLower(rid)}, not this key's {Convert.ToHexStringLower(keyIdentifier)} (SHA-256 of its SubjectPublicKeyInfo): the ciphertext is for another key");
        }

        at.Move(recipient, "KeyTransRecipientInfo.keyEncryptionAlgorithm");
        ReadKeyEncryptionAlgorithm(recipient.ReadSequence(), at);
        at.Move(recipient, "KeyTransRecipientInfo.encryptedKey");
        var keyOffset = at.Offset;
        var encryptedKey = recipient.ReadOctetString();
        End(recipient, at, "KeyTransRecipientInfo");
        return (encryptedKey, keyOffset);
    }

    private static void ReadKeyEncryptionAlgorithm(AsnReader algorithm, Cursor at)
    {
        const string Field = "keyEncryptionAlgorithm";
        var oid = algorithm.ReadObjectIdentifier();
        if (oid != RsaesOaepOid)
        {
            var name = oid == RsaEncryptionOid ? "rsaEncryption (PKCS#1 v1.5)" : oid;
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, $"is {name}, not rsaesOaep ({RsaesOaepOid})");
        }

        at.Move(algorithm, $"{Field}.parameters");
        if (!algorithm.HasData)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, "are absent, which means SHA-1; KMS writes SHA-256");
        }

        var parameters = algorithm.ReadSequence();
        End(algorithm, at, Field);

        at.Move(parameters, $"{Field}.hashAlgorithm");
        if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(Context0))
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, "is absent, which means SHA-1; KMS writes SHA-256");
        }

        var hash = parameters.ReadSequence(Context0);
        ReadSha256(hash.ReadSequence(), at);
        End(hash, at, $"{Field}.hashAlgorithm");

        at.Move(parameters, $"{Field}.maskGenAlgorithm");
        if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(Context1))
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, "is absent, which means MGF1 with SHA-1; KMS writes MGF1 with SHA-256");
        }

        var maskExplicit = parameters.ReadSequence(Context1);
        var mask = maskExplicit.ReadSequence();
        End(maskExplicit, at, $"{Field}.maskGenAlgorithm");
        var maskOid = mask.ReadObjectIdentifier();
        if (maskOid != Mgf1Oid)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, $"is {maskOid}, not MGF1 ({Mgf1Oid})");
        }

        at.Move(mask, $"{Field}.maskGenAlgorithm.parameters");
        ReadSha256(mask.ReadSequence(), at);
        End(mask, at, $"{Field}.maskGenAlgorithm");

        at.Move(parameters, $"{Field}.pSourceAlgorithm");
        if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(Context2))
        {
            // Only the default (an empty label) may be written out; OAEP with any other label decrypts nothing of KMS's.
            var sourceExplicit = parameters.ReadSequence(Context2);
            var source = sourceExplicit.ReadSequence();
            End(sourceExplicit, at, $"{Field}.pSourceAlgorithm");
            if (source.ReadObjectIdentifier() != PSpecifiedOid || source.ReadOctetString().Length != 0)
            {
                throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, "is not pSpecified with an empty label");
            }

            End(source, at, $"{Field}.pSourceAlgorithm");
        }

        End(parameters, at, $"{Field}.parameters");
    }

    private static void ReadSha256(AsnReader digest, Cursor at)
    {
        var oid = digest.ReadObjectIdentifier();
        if (oid != Sha256Oid)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedKeyEncryption, $"names digest {oid}, not SHA-256 ({Sha256Oid})");
        }

        // RFC 5754: SHA-2 parameters are absent or NULL; KMS writes NULL.
        if (digest.HasData)
        {
            digest.ReadNull();
        }

        End(digest, at, at.Field);
    }

    private static (byte[] Iv, byte[] Content, long ContentOffset) ReadEncryptedContent(AsnReader info, Cursor at)
    {
        at.Move(info, "EncryptedContentInfo.contentType");
        var contentType = info.ReadObjectIdentifier();
        if (contentType != DataOid)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedContentType, $"is {contentType}, not data ({DataOid})");
        }

        at.Move(info, "EncryptedContentInfo.contentEncryptionAlgorithm");
        var algorithm = info.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        if (oid != Aes256CbcOid)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedContentEncryption, $"is {oid}, not AES-256-CBC ({Aes256CbcOid})");
        }

        at.Move(algorithm, "EncryptedContentInfo.contentEncryptionAlgorithm.iv");
        if (!algorithm.HasData)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedContentEncryption, "is absent");
        }

        var iv = algorithm.ReadOctetString();
        if (iv.Length != BlockSize)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedContentEncryption, $"is {iv.Length} bytes, not {BlockSize}");
        }

        End(algorithm, at, "EncryptedContentInfo.contentEncryptionAlgorithm");
        at.Move(info, "EncryptedContentInfo.encryptedContent");
        if (!info.HasData)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedContentType, "is absent (detached content); KMS writes it inline");
        }

        var contentOffset = at.Offset;
        var content = info.ReadOctetString(Context0);
        End(info, at, "EncryptedContentInfo");
        return (iv, content, contentOffset);
    }

    private static void Version(AsnReader reader, Cursor at, string field)
    {
        at.Move(reader, field);
        if (!reader.TryReadInt32(out var version) || version != CmsVersion)
        {
            throw at.Fail(RecipientCiphertextFailure.UnsupportedVersion, $"is not {CmsVersion}, the version KMS writes");
        }
    }

    private static void End(AsnReader reader, Cursor at, string field)
    {
        if (reader.HasData)
        {
            at.Move(reader, field);
            throw at.Fail(RecipientCiphertextFailure.Malformed, "is followed by unexpected bytes");
        }
    }

    private static string Describe(Asn1Tag tag) => tag.TagClass == TagClass.ContextSpecific
        ? $"[{tag.TagValue}] ({tag.TagValue switch { 1 => "KeyAgreeRecipientInfo", 2 => "KEKRecipientInfo", 3 => "PasswordRecipientInfo", _ => "OtherRecipientInfo" }})"
        : tag.ToString();

    /// <summary>Where reading is, for error messages: the field's name and the byte offset of its encoding.</summary>
    private sealed class Cursor
    {
        public string Field { get; private set; } = "ContentInfo";

        public long Offset { get; private set; }

        public void Move(AsnReader reader, string field)
        {
            Field = field;
            try
            {
                if (reader.HasData && MemoryMarshal.TryGetArray(reader.PeekEncodedValue(), out var segment))
                {
                    Offset = segment.Offset;
                }
            }
            catch (AsnContentException)
            {
                // Unreadable from here: the error names the field, and the offset stays at the enclosing one.
            }
        }

        public RecipientCiphertextException Fail(RecipientCiphertextFailure failure, string detail) => new(failure, Offset, $"{Field} {detail}");
    }
}

namespace Cloister.Kms.Recipients;

/// <summary>Every way decrypting KMS's <c>CiphertextForRecipient</c> (a CMS EnvelopedData) can fail.</summary>
public enum RecipientCiphertextFailure
{
    /// <summary>The ciphertext is over <see cref="RecipientKey.MaxCiphertextLength"/> bytes.</summary>
    TooLarge,

    /// <summary>The bytes are not BER of the CMS structure: truncated, a wrong tag, a bad length, trailing bytes.</summary>
    Malformed,

    /// <summary>The ContentInfo's contentType is not envelopedData.</summary>
    NotEnvelopedData,

    /// <summary>The EnvelopedData or the KeyTransRecipientInfo is not version 2 (the versions KMS writes).</summary>
    UnsupportedVersion,

    /// <summary>The EnvelopedData carries originatorInfo or unprotectedAttrs, which KMS never writes.</summary>
    UnsupportedField,

    /// <summary>There is not exactly one recipient, or it is not a KeyTransRecipientInfo.</summary>
    UnsupportedRecipients,

    /// <summary>The recipient is not this key: the rid is not a subjectKeyIdentifier equal to SHA-256 of this key's SubjectPublicKeyInfo.</summary>
    OtherRecipient,

    /// <summary>The key encryption is not RSAES-OAEP with SHA-256 and MGF1-SHA-256.</summary>
    UnsupportedKeyEncryption,

    /// <summary>The encrypted content is not of type data, or is absent.</summary>
    UnsupportedContentType,

    /// <summary>The content encryption is not AES-256-CBC with a 16-byte IV.</summary>
    UnsupportedContentEncryption,

    /// <summary>The RSA key decryption failed, or did not give a 32-byte AES key.</summary>
    KeyDecryptionFailed,

    /// <summary>The content does not decrypt: not whole AES blocks, or its PKCS#7 padding is wrong.</summary>
    ContentDecryptionFailed,
}

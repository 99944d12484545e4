using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

namespace Cloister.Attestation.Documents;

/// <summary>
/// Encodes attestation documents the way the Nitro Security Module does: the payload map with its nine keys in NSM
/// order, wrapped in an untagged COSE_Sign1 signed with ES384 (reference/eif-nsm-spec.md §6.1–6.2).
/// </summary>
/// <remarks>
/// Only the software NSM signs documents; on Nitro hardware the device does. The output is byte-compatible in
/// shape with AWS's: protected header <c>a1 01 38 22</c>, empty unprotected map, raw r‖s signature.
/// </remarks>
public static class AttestationDocumentWriter
{
    private const byte CborTagSign1 = 0xD2;

    /// <summary>Encodes <paramref name="document"/> as the CBOR payload map the NSM signs.</summary>
    /// <param name="document">The document to encode.</param>
    /// <param name="indefiniteLengthMap">
    /// <see langword="true"/> writes the outer map as <c>bf … ff</c>, as Nitro hardware has done since mid-2025;
    /// <see langword="false"/> writes a definite <c>a9</c> map, as earlier hardware and serde_cbor do.
    /// </param>
    /// <returns>The payload bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="document"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// A PCR index is outside 0–31, there are no PCRs, or an optional field is larger than 1024 bytes.
    /// </exception>
    public static byte[] EncodePayload(AttestationDocument document, bool indefiniteLengthMap = true)
    {
        ArgumentNullException.ThrowIfNull(document);
        Validate(document);

        var writer = new CborWriter(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
        writer.WriteStartMap(indefiniteLengthMap ? null : 9);
        writer.WriteTextString(AttestationDocumentKeys.ModuleId);
        writer.WriteTextString(document.ModuleId);
        writer.WriteTextString(AttestationDocumentKeys.Digest);
        writer.WriteTextString(document.Digest);
        writer.WriteTextString(AttestationDocumentKeys.Timestamp);
        // The NSM always spends the full eight bytes on the timestamp (1b + u64); CborWriter would shorten it.
        WriteUInt64Fixed(writer, checked((ulong)document.Timestamp.ToUnixTimeMilliseconds()));
        writer.WriteTextString(AttestationDocumentKeys.Pcrs);
        writer.WriteStartMap(document.Pcrs.Count);
        foreach (var index in document.Pcrs.Keys.Order())
        {
            writer.WriteInt32(index);
            writer.WriteByteString(document.Pcrs[index]);
        }

        writer.WriteEndMap();
        writer.WriteTextString(AttestationDocumentKeys.Certificate);
        writer.WriteByteString(document.Certificate);
        writer.WriteTextString(AttestationDocumentKeys.CaBundle);
        writer.WriteStartArray(document.CaBundle.Count);
        foreach (var certificate in document.CaBundle)
        {
            writer.WriteByteString(certificate);
        }

        writer.WriteEndArray();
        WriteOptional(writer, AttestationDocumentKeys.PublicKey, document.PublicKey);
        WriteOptional(writer, AttestationDocumentKeys.UserData, document.UserData);
        WriteOptional(writer, AttestationDocumentKeys.Nonce, document.Nonce);
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>Signs <paramref name="payload"/> as an untagged ES384 COSE_Sign1, exactly as the NSM frames documents.</summary>
    /// <param name="payload">The encoded payload (normally from <see cref="EncodePayload"/>).</param>
    /// <param name="signingKey">The leaf certificate's P-384 private key.</param>
    /// <returns>The COSE_Sign1 bytes, starting with <c>0x84</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="signingKey"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="signingKey"/> is not a P-384 key.</exception>
    /// <exception cref="CryptographicException">The key cannot sign.</exception>
    public static byte[] Sign(ReadOnlySpan<byte> payload, ECDsa signingKey)
    {
        ArgumentNullException.ThrowIfNull(signingKey);
        if (signingKey.KeySize != 384)
        {
            throw new ArgumentException($"attestation documents are signed with ES384; the key is {signingKey.KeySize} bits, not P-384", nameof(signingKey));
        }

        // CoseSigner puts {1: -35} in the protected header and leaves the unprotected map empty, as the NSM does.
        var signed = CoseSign1Message.SignEmbedded(payload, new CoseSigner(signingKey, HashAlgorithmName.SHA384));
        // The NSM emits COSE_Sign1 without tag 18; the BCL always writes it.
        return signed[0] == CborTagSign1 ? signed[1..] : signed;
    }

    /// <summary>Encodes and signs <paramref name="document"/>: <see cref="EncodePayload"/> then <see cref="Sign"/>.</summary>
    /// <param name="document">The document to encode.</param>
    /// <param name="signingKey">The leaf certificate's P-384 private key.</param>
    /// <param name="indefiniteLengthMap">See <see cref="EncodePayload"/>.</param>
    /// <returns>The COSE_Sign1 bytes.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The document or the key is not acceptable (see the two steps).</exception>
    /// <exception cref="CryptographicException">The key cannot sign.</exception>
    public static byte[] Write(AttestationDocument document, ECDsa signingKey, bool indefiniteLengthMap = true) =>
        Sign(EncodePayload(document, indefiniteLengthMap), signingKey);

    private static void Validate(AttestationDocument document)
    {
        if (document.Pcrs.Count == 0)
        {
            throw new ArgumentException("an attestation document carries at least one PCR", nameof(document));
        }

        foreach (var index in document.Pcrs.Keys)
        {
            if (index is < 0 or >= 32)
            {
                throw new ArgumentException($"PCR index {index} is outside 0–31", nameof(document));
            }
        }

        var tooLarge = TooLarge(document.PublicKey, AttestationDocumentKeys.PublicKey)
            ?? TooLarge(document.UserData, AttestationDocumentKeys.UserData)
            ?? TooLarge(document.Nonce, AttestationDocumentKeys.Nonce);
        if (tooLarge is not null)
        {
            throw new ArgumentException(tooLarge, nameof(document));
        }
    }

    private static string? TooLarge(byte[]? value, string key) =>
        value is { Length: > AttestationDocumentKeys.MaxOptionalFieldLength }
            ? $"{key} is {value.Length} bytes; the NSM accepts at most {AttestationDocumentKeys.MaxOptionalFieldLength}"
            : null;

    private static void WriteOptional(CborWriter writer, string key, byte[]? value)
    {
        writer.WriteTextString(key);
        if (value is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.WriteByteString(value);
        }
    }

    private static void WriteUInt64Fixed(CborWriter writer, ulong value)
    {
        Span<byte> encoded = stackalloc byte[9];
        encoded[0] = 0x1B;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(encoded[1..], value);
        writer.WriteEncodedValue(encoded);
    }
}

using System.Formats.Cbor;
using System.Text;

namespace Cloister.Attestation.Documents;

/// <summary>
/// Decodes the raw bytes of an attestation document (a COSE_Sign1 from the NSM) into a
/// <see cref="SignedAttestationDocument"/>, enforcing the wire format of reference/eif-nsm-spec.md §6.1–6.2 and
/// the CDDL of attestation_process.md §2.2.
/// </summary>
/// <remarks>
/// <para>
/// The split between decoding and verifying: this type rejects everything that is not an attestation document
/// (<see cref="AttestationFormatException"/>): bad CBOR, truncation, trailing bytes, a COSE envelope of the wrong
/// shape, wrong types, missing, unknown or duplicate keys, PCR indices outside 0–31 or values not 32/48/64 bytes,
/// a zero timestamp, an empty cabundle, a module_id or digest that is empty or not printable ASCII (0x20–0x7E, as
/// AWS writes them: no invalid UTF-8, no control characters), and lengths over the limits
/// (<see cref="AttestationFieldTooLargeException"/>; module_id at most <see cref="MaxModuleIdLength"/> bytes, digest
/// <see cref="MaxDigestLength"/>). It accepts what is well formed but may not be acceptable to a verifier: any
/// integer algorithm in the protected header and any printable digest name. Those, the certificate chain and the
/// signature are judged by <see cref="Verification.AttestationVerifier"/>.
/// </para>
/// <para>
/// Accepted variations: CBOR tag 18 or none; a definite (<c>a9</c>) or indefinite (<c>bf … ff</c>) payload map
/// and PCR map, keys in any order; <c>null</c>, empty or non-empty public_key, user_data and nonce. The three
/// byte strings of the envelope must have definite lengths (so that the signed bytes are exactly those on the
/// wire), and the protected header may hold nothing but the algorithm, as the NSM writes it. The unprotected header
/// must be a map; its contents are not used.
/// </para>
/// </remarks>
public static class AttestationDocumentDecoder
{
    /// <summary>The largest DER certificate the format allows in certificate and cabundle (CDDL <c>cert</c>).</summary>
    public const int MaxCertificateLength = 1024;

    /// <summary>
    /// The most cabundle entries accepted. Real chains have four (root, regional, zonal, instance); the bound keeps
    /// the work of verifying a hostile document small.
    /// </summary>
    public const int MaxCaBundleCount = 8;

    /// <summary>
    /// The longest module_id accepted. AWS's are 39 characters (<c>i-&lt;17 hex&gt;-enc&lt;16 hex&gt;</c>); the bound
    /// leaves room for other formats while keeping a hostile document from carrying megabytes of "name".
    /// </summary>
    public const int MaxModuleIdLength = 256;

    /// <summary>The longest digest name accepted; the NSM's are <c>SHA256</c>, <c>SHA384</c> and <c>SHA512</c>.</summary>
    public const int MaxDigestLength = 16;

    /// <summary>The longest unknown key that an error message quotes; a longer one is described by its length.</summary>
    private const int MaxQuotedKeyLength = 32;

    private const ulong CoseSign1Tag = 18;
    private const int CoseSign1ItemCount = 4;
    private const int AlgorithmLabel = 1;
    private const int PcrIndexLimit = 32;
    private const int KeyCount = 9;

    private static readonly ulong s_maxTimestamp = (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();
    private static readonly string[] s_pcrFields = [.. Enumerable.Range(0, PcrIndexLimit).Select(i => $"payload.pcrs[{i}]")];
    private static readonly string[] s_caBundleFields = [.. Enumerable.Range(0, MaxCaBundleCount).Select(i => $"payload.cabundle[{i}]")];
    private static readonly string[] s_keys =
    [
        AttestationDocumentKeys.ModuleId, AttestationDocumentKeys.Digest, AttestationDocumentKeys.Timestamp,
        AttestationDocumentKeys.Pcrs, AttestationDocumentKeys.Certificate, AttestationDocumentKeys.CaBundle,
        AttestationDocumentKeys.PublicKey, AttestationDocumentKeys.UserData, AttestationDocumentKeys.Nonce,
    ];

    private static readonly string[] s_keyFields = [.. s_keys.Select(key => $"payload.{key}")];
    private static readonly byte[][] s_keyBytes = [.. s_keys.Select(Encoding.ASCII.GetBytes)];

    /// <summary>Decodes a COSE_Sign1 attestation document.</summary>
    /// <param name="encoded">The raw document; it is copied, so the caller may reuse the buffer.</param>
    /// <returns>The envelope and the decoded payload.</returns>
    /// <exception cref="AttestationFieldTooLargeException">A field is longer than the format allows.</exception>
    /// <exception cref="AttestationFormatException">The bytes are not an attestation document; the message and
    /// <see cref="AttestationFormatException.Field"/> name the field, <see cref="AttestationFormatException.Offset"/> the byte.</exception>
    public static SignedAttestationDocument Decode(ReadOnlySpan<byte> encoded)
    {
        var bytes = encoded.ToArray();
        var cose = new CborCursor(bytes, 0, "cose");
        if (bytes.Length == 0)
        {
            throw cose.Fail("the input is empty");
        }

        var isTagged = false;
        if (cose.Peek() == CborReaderState.Tag)
        {
            var tagOffset = cose.Offset;
            var tag = cose.ReadTag();
            if (tag != CoseSign1Tag)
            {
                throw cose.Fail($"CBOR tag {tag} is not 18 (COSE_Sign1)", tagOffset);
            }

            isTagged = true;
        }

        var arrayOffset = cose.Offset;
        var count = cose.ReadStartArray();
        if (count != CoseSign1ItemCount)
        {
            throw cose.Fail($"a COSE_Sign1 is an array of 4 items, found {(count is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "an indefinite-length array")}", arrayOffset);
        }

        cose.Field = "cose.protected";
        var protectedHeader = cose.ReadBytes(out var protectedOffset);
        cose.Field = "cose.unprotected";
        cose.Skip(CborReaderState.StartMap);
        cose.Field = "cose.payload";
        var payload = cose.ReadBytes(out var payloadOffset);
        cose.Field = "cose.signature";
        var signature = cose.ReadBytes();
        cose.Field = "cose";
        cose.ReadEndArray();
        cose.ExpectEnd("the COSE_Sign1");

        var algorithm = DecodeProtectedHeader(protectedHeader, protectedOffset);
        var document = DecodePayload(payload, payloadOffset);
        return new SignedAttestationDocument(bytes, isTagged, protectedHeader, algorithm, payload, signature, document);
    }

    private static int? DecodeProtectedHeader(ReadOnlyMemory<byte> header, int offset)
    {
        // RFC 9052 §3: a zero-length protected header stands for the empty map.
        if (header.IsEmpty)
        {
            return null;
        }

        var cursor = new CborCursor(header, offset, "cose.protected");
        int? algorithm = null;
        var count = cursor.ReadStartMap();
        for (var read = 0; cursor.HasMoreItems(count, read); read++)
        {
            var labelOffset = cursor.Offset;
            var label = cursor.ReadInt32();
            if (label != AlgorithmLabel)
            {
                throw cursor.Fail($"header parameter {label} is not accepted; the NSM protects only alg (1)", labelOffset);
            }

            if (algorithm is not null)
            {
                throw cursor.Fail("duplicate header parameter 1 (alg)", labelOffset);
            }

            algorithm = cursor.ReadInt32();
        }

        cursor.ReadEndMap();
        cursor.ExpectEnd("the protected header map");
        return algorithm;
    }

    private static AttestationDocument DecodePayload(ReadOnlyMemory<byte> payload, int offset)
    {
        var cursor = new CborCursor(payload, offset, "payload");
        string? moduleId = null, digest = null;
        ulong timestamp = 0;
        Dictionary<int, byte[]>? pcrs = null;
        byte[]? certificate = null, publicKey = null, userData = null, nonce = null;
        List<byte[]>? caBundle = null;

        var seen = 0;
        var count = cursor.ReadStartMap();
        for (var read = 0; cursor.HasMoreItems(count, read); read++)
        {
            cursor.Field = "payload";
            var keyOffset = cursor.Offset;
            var index = IndexOfKey(cursor.ReadTextBytes().Span, out var unknown);
            if (index < 0)
            {
                throw cursor.Fail($"unknown key {unknown}", keyOffset);
            }

            var key = s_keys[index];
            if ((seen & (1 << index)) != 0)
            {
                throw cursor.Fail($"duplicate key '{key}'", keyOffset);
            }

            seen |= 1 << index;
            cursor.Field = s_keyFields[index];
            switch (key)
            {
                case AttestationDocumentKeys.ModuleId:
                    moduleId = cursor.ReadPrintableAscii(MaxModuleIdLength);
                    break;
                case AttestationDocumentKeys.Digest:
                    digest = cursor.ReadPrintableAscii(MaxDigestLength);
                    break;
                case AttestationDocumentKeys.Timestamp:
                    timestamp = ReadTimestamp(cursor);
                    break;
                case AttestationDocumentKeys.Pcrs:
                    pcrs = ReadPcrs(cursor);
                    break;
                case AttestationDocumentKeys.Certificate:
                    certificate = cursor.ReadBoundedBytes(1, MaxCertificateLength);
                    break;
                case AttestationDocumentKeys.CaBundle:
                    caBundle = ReadCaBundle(cursor);
                    break;
                case AttestationDocumentKeys.PublicKey:
                    publicKey = cursor.ReadOptionalBytes(AttestationDocumentKeys.MaxOptionalFieldLength);
                    break;
                case AttestationDocumentKeys.UserData:
                    userData = cursor.ReadOptionalBytes(AttestationDocumentKeys.MaxOptionalFieldLength);
                    break;
                default:
                    nonce = cursor.ReadOptionalBytes(AttestationDocumentKeys.MaxOptionalFieldLength);
                    break;
            }
        }

        cursor.Field = "payload";
        cursor.ReadEndMap();
        cursor.ExpectEnd("the payload map");
        if (seen != (1 << KeyCount) - 1)
        {
            var missing = s_keys.Where((_, i) => (seen & (1 << i)) == 0);
            throw cursor.Fail($"missing key(s) {string.Join(", ", missing.Select(k => $"'{k}'"))}", offset);
        }

        return new AttestationDocument(
            moduleId!, digest!, DateTimeOffset.FromUnixTimeMilliseconds((long)timestamp), pcrs!, certificate!, caBundle!,
            publicKey, userData, nonce);
    }

    /// <summary>The index of a payload key in <see cref="s_keys"/>, or -1 with how to name the unknown key in an error.</summary>
    private static int IndexOfKey(ReadOnlySpan<byte> key, out string unknown)
    {
        for (var i = 0; i < s_keyBytes.Length; i++)
        {
            if (key.SequenceEqual(s_keyBytes[i]))
            {
                unknown = "";
                return i;
            }
        }

        // Quoted only when it cannot smuggle control characters or bulk into the message.
        unknown = key.Length <= MaxQuotedKeyLength && CborCursor.IndexOfNonPrintable(key) < 0
            ? $"'{Encoding.ASCII.GetString(key)}'"
            : $"of {key.Length} bytes that are not a short printable ASCII name";
        return -1;
    }

    private static ulong ReadTimestamp(CborCursor cursor)
    {
        var start = cursor.Offset;
        var value = cursor.ReadUInt64();
        if (value == 0)
        {
            throw cursor.Fail("is 0; the NSM stamps milliseconds since the Unix epoch", start);
        }

        return value <= s_maxTimestamp ? value : throw cursor.Fail($"{value} ms is beyond the year 9999", start);
    }

    private static Dictionary<int, byte[]> ReadPcrs(CborCursor cursor)
    {
        var mapOffset = cursor.Offset;
        var count = cursor.ReadStartMap();
        if (count > PcrIndexLimit)
        {
            throw cursor.Fail($"holds {count} entries; there are only {PcrIndexLimit} PCRs", mapOffset);
        }

        var pcrs = new Dictionary<int, byte[]>(count ?? 16);
        for (var read = 0; cursor.HasMoreItems(count, read); read++)
        {
            cursor.Field = "payload.pcrs";
            var keyOffset = cursor.Offset;
            var index = cursor.ReadUInt64();
            if (index >= PcrIndexLimit)
            {
                throw cursor.Fail($"PCR index {index} is outside 0–31", keyOffset);
            }

            if (pcrs.ContainsKey((int)index))
            {
                throw cursor.Fail($"duplicate PCR index {index}", keyOffset);
            }

            cursor.Field = s_pcrFields[index];
            var valueOffset = cursor.Offset;
            var value = cursor.ReadBytes();
            if (value.Length is not (32 or 48 or 64))
            {
                throw cursor.Fail($"is {value.Length} bytes; a PCR is 32, 48 or 64", valueOffset);
            }

            pcrs.Add((int)index, value.ToArray());
        }

        cursor.Field = "payload.pcrs";
        cursor.ReadEndMap();
        return pcrs.Count > 0 ? pcrs : throw cursor.Fail("holds no PCRs", mapOffset);
    }

    private static List<byte[]> ReadCaBundle(CborCursor cursor)
    {
        var arrayOffset = cursor.Offset;
        var count = cursor.ReadStartArray();
        if (count > MaxCaBundleCount)
        {
            throw cursor.TooLarge(count.Value, MaxCaBundleCount, arrayOffset);
        }

        var caBundle = new List<byte[]>(count ?? 4);
        for (var read = 0; cursor.HasMoreItems(count, read); read++)
        {
            if (read == MaxCaBundleCount)
            {
                cursor.Field = "payload.cabundle";
                throw cursor.TooLarge(read + 1, MaxCaBundleCount, arrayOffset);
            }

            cursor.Field = s_caBundleFields[read];
            caBundle.Add(cursor.ReadBoundedBytes(1, MaxCertificateLength));
        }

        cursor.Field = "payload.cabundle";
        cursor.ReadEndArray();
        return caBundle.Count > 0 ? caBundle : throw cursor.Fail("is empty; it holds at least the root", arrayOffset);
    }
}

namespace Cloister.Attestation.Documents;

/// <summary>
/// A decoded COSE_Sign1 attestation document: the envelope's parts exactly as they were on the wire (what the
/// signature covers) and the decoded payload. Decoding proves nothing about authenticity; verify it with
/// <see cref="Verification.AttestationVerifier"/>.
/// </summary>
public sealed class SignedAttestationDocument
{
    internal SignedAttestationDocument(
        ReadOnlyMemory<byte> encoded,
        bool isTagged,
        ReadOnlyMemory<byte> protectedHeader,
        int? algorithm,
        ReadOnlyMemory<byte> payload,
        ReadOnlyMemory<byte> signature,
        AttestationDocument document)
    {
        Encoded = encoded;
        IsTagged = isTagged;
        ProtectedHeader = protectedHeader;
        Algorithm = algorithm;
        Payload = payload;
        Signature = signature;
        Document = document;
    }

    /// <summary>The whole COSE_Sign1 as decoded (a private copy of the input).</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>Whether the COSE_Sign1 carried CBOR tag 18 (the NSM omits it).</summary>
    public bool IsTagged { get; }

    /// <summary>The serialized protected header (the content of its byte string), as signed.</summary>
    public ReadOnlyMemory<byte> ProtectedHeader { get; }

    /// <summary>
    /// The COSE algorithm in the protected header (<c>-35</c> = ES384 on every real document), or
    /// <see langword="null"/> when the protected header is empty.
    /// </summary>
    public int? Algorithm { get; }

    /// <summary>The payload bytes (the CBOR map of the attestation document), as signed.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The signature bytes: raw r‖s, 96 bytes for ES384.</summary>
    public ReadOnlyMemory<byte> Signature { get; }

    /// <summary>The decoded payload.</summary>
    public AttestationDocument Document { get; }
}

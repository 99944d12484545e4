namespace Cloister.Attestation.Documents;

/// <summary>
/// The payload of an AWS Nitro Enclaves attestation document: what the NSM signed about an enclave
/// (reference/eif-nsm-spec.md §6.2). This type holds values only; it neither decodes nor verifies.
/// </summary>
/// <remarks>
/// On the wire every one of the nine keys is present and the optional ones are CBOR <c>null</c> when
/// unset; here <see langword="null"/> stands for that, and an empty array for a present, empty value.
/// </remarks>
public sealed class AttestationDocument
{
    /// <summary>Creates a document from its fields.</summary>
    /// <exception cref="ArgumentNullException">A mandatory field is <see langword="null"/>.</exception>
    public AttestationDocument(
        string moduleId,
        string digest,
        DateTimeOffset timestamp,
        IReadOnlyDictionary<int, byte[]> pcrs,
        byte[] certificate,
        IReadOnlyList<byte[]> caBundle,
        byte[]? publicKey = null,
        byte[]? userData = null,
        byte[]? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(moduleId);
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(pcrs);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(caBundle);
        ModuleId = moduleId;
        Digest = digest;
        Timestamp = timestamp;
        Pcrs = pcrs;
        Certificate = certificate;
        CaBundle = caBundle;
        PublicKey = publicKey;
        UserData = userData;
        Nonce = nonce;
    }

    /// <summary>The enclave's identifier, <c>i-&lt;17 hex&gt;-enc&lt;16 hex&gt;</c> on AWS.</summary>
    public string ModuleId { get; }

    /// <summary>The PCR digest algorithm; <c>SHA384</c> on every Nitro system.</summary>
    public string Digest { get; }

    /// <summary>When the NSM produced the document, with millisecond precision (UTC).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The locked PCRs by index (0–31); each value is 32, 48 or 64 bytes.</summary>
    public IReadOnlyDictionary<int, byte[]> Pcrs { get; }

    /// <summary>The DER leaf certificate whose key signed the document.</summary>
    public byte[] Certificate { get; }

    /// <summary>The DER CA certificates, root first (the order the NSM emits).</summary>
    public IReadOnlyList<byte[]> CaBundle { get; }

    /// <summary>The public key the enclave asked to have attested, or <see langword="null"/>.</summary>
    public byte[]? PublicKey { get; }

    /// <summary>Caller-supplied data, or <see langword="null"/>.</summary>
    public byte[]? UserData { get; }

    /// <summary>The relying party's nonce, or <see langword="null"/>.</summary>
    public byte[]? Nonce { get; }

    /// <summary>
    /// Whether the enclave ran in debug mode: the NSM then reports PCR0 as all zeros, so nothing the
    /// document says about the image can be trusted.
    /// </summary>
    public bool IsDebugMode => Pcrs.TryGetValue(0, out var pcr0) && !pcr0.AsSpan().ContainsAnyExcept((byte)0);
}

using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// Why an attested TLS connection was refused: one value per distinct way, in the order the checks run (DESIGN.md,
/// "Verification order"): the served chain, the hostname, the embedded document, the document's own verification,
/// the key binding, the nonce.
/// </summary>
public enum AttestedTlsFailure
{
    /// <summary>Every check passed.</summary>
    None = 0,

    /// <summary>
    /// The connection does not use TLS (an <c>http://</c> address): nothing attests a plaintext peer, so it is refused
    /// before anything is sent.
    /// </summary>
    NotTls,

    /// <summary>The server presented no certificate.</summary>
    NoCertificate,

    /// <summary>
    /// The served chain fails the <see cref="TlsChainTrust"/>: in standalone mode the leaf is not self-signed or not valid
    /// now; in CA mode it does not chain to one of the given authorities at now (expired, wrong issuer, no serverAuth).
    /// </summary>
    CertificateChainInvalid,

    /// <summary>In CA mode: the certificate's DNS names do not cover the host asked for.</summary>
    HostnameMismatch,

    /// <summary>The certificate carries no attestation document (no SAN label of hex longer than a DNS label): a plain certificate.</summary>
    NotAttested,

    /// <summary>
    /// The document fails its own verification; <see cref="AttestedTlsResult.DocumentFailure"/> says how (root, chain,
    /// age, signature, PCRs, debug mode…).
    /// </summary>
    DocumentInvalid,

    /// <summary>The document's user_data is not the DER SubjectPublicKeyInfo of the served certificate: a document lifted from another server.</summary>
    KeyBindingMismatch,

    /// <summary>The client asked for a fresh document and the document does not carry its nonce (a replayed or base certificate).</summary>
    NonceMismatch,
}

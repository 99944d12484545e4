using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// Why an attested TLS connection was refused: one value per distinct way, in the order the checks run (DESIGN.md,
/// "Verification order"): the served chain (trust, validity, name constraints), the hostname, the embedded document,
/// the document's own verification, the key binding, the nonce.
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
    /// The served chain fails the <see cref="TlsChainTrust"/>: in standalone mode the leaf is not self-signed; in CA mode
    /// it does not chain to one of the given authorities (wrong or missing issuer, a bad signature, an issuer that is not
    /// a CA or exceeds its path length, no serverAuth).
    /// </summary>
    CertificateChainInvalid,

    /// <summary>A certificate of the served chain (the leaf, an intermediate or the root) is not valid now: expired or not yet valid.</summary>
    CertificateNotTimeValid,

    /// <summary>
    /// In CA mode: a CA of the chain has a nameConstraints extension that cannot be enforced, so it is refused rather than
    /// ignored (not valid DER, or a form other than dNSName subtrees; see <see cref="NameConstraints"/>).
    /// </summary>
    NameConstraintsUnsupported,

    /// <summary>
    /// In CA mode: a name the client relies on lies outside a CA's name constraints: the host asked for, or a DNS name
    /// of the leaf's subjectAltName (the attested entry included), or the leaf names something other than DNS names
    /// under a constrained CA.
    /// </summary>
    NameConstraintViolation,

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

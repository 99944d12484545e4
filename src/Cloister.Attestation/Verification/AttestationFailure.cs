namespace Cloister.Attestation.Verification;

/// <summary>Why a document failed verification: one value per distinct way, in the order the checks run.</summary>
public enum AttestationFailure
{
    /// <summary>The document passed every check.</summary>
    None = 0,

    /// <summary>The bytes are not an attestation document (bad CBOR, wrong shape, types, keys), or a certificate cannot be parsed.</summary>
    Malformed,

    /// <summary>A field is well formed but longer than allowed (user_data, nonce, public_key, a certificate, the cabundle).</summary>
    FieldTooLarge,

    /// <summary>The protected header does not name ES384 (-35), or the leaf key cannot be used with it (not P-384).</summary>
    UnsupportedAlgorithm,

    /// <summary>The payload's digest is not <c>SHA384</c>.</summary>
    UnsupportedDigest,

    /// <summary><c>cabundle[0]</c> is not byte for byte one of the trusted roots.</summary>
    UntrustedRoot,

    /// <summary>
    /// The chain <c>[certificate, cabundle[n-1], …, cabundle[0]]</c> does not hold together: a name or signature link
    /// is broken (a dropped or reordered entry), a CA lacks basicConstraints, pathLen or keyCertSign, the leaf lacks
    /// digitalSignature, or a certificate has an unsupported critical extension or signature algorithm.
    /// </summary>
    ChainInvalid,

    /// <summary>A certificate of the chain is not yet valid at the document's timestamp or at the verifier's now.</summary>
    CertificateNotYetValid,

    /// <summary>A certificate of the chain has expired at the document's timestamp or at the verifier's now.</summary>
    CertificateExpired,

    /// <summary>The document's timestamp is later than the verifier's now plus the allowed clock skew.</summary>
    TimestampInFuture,

    /// <summary>The document is older than <see cref="AttestationVerifierOptions.MaxAge"/>.</summary>
    DocumentTooOld,

    /// <summary>The ES384 COSE signature does not verify with the leaf certificate's key.</summary>
    BadSignature,

    /// <summary>The PCRs match none of the policy's PCR sets.</summary>
    PcrMismatch,

    /// <summary>The enclave ran in debug mode (PCR0 all zeros) and the policy does not allow it.</summary>
    DebugModeRefused,

    /// <summary>The nonce is absent or differs from the policy's.</summary>
    NonceMismatch,

    /// <summary>The user_data is absent or differs from the policy's.</summary>
    UserDataMismatch,

    /// <summary>The public_key is absent or differs from the policy's.</summary>
    PublicKeyMismatch,
}

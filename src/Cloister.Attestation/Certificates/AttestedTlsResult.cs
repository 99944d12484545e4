using Cloister.Attestation.Documents;
using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Certificates;

/// <summary>The outcome of attesting one server certificate: success with the verified document, or exactly one reason.</summary>
public sealed class AttestedTlsResult
{
    private AttestedTlsResult(
        AttestedTlsFailure failure,
        string? detail,
        string certificateThumbprint,
        DateTimeOffset certificateNotAfter,
        AttestationVerificationResult? documentVerification,
        byte[]? nonce,
        DateTimeOffset validUntil,
        bool fromCache)
    {
        Failure = failure;
        Detail = detail;
        CertificateThumbprint = certificateThumbprint;
        CertificateNotAfter = certificateNotAfter;
        DocumentVerification = documentVerification;
        Nonce = nonce;
        ValidUntil = validUntil;
        FromCache = fromCache;
    }

    /// <summary>Whether every check passed.</summary>
    public bool IsValid => Failure == AttestedTlsFailure.None;

    /// <summary>The failed check, or <see cref="AttestedTlsFailure.None"/>.</summary>
    public AttestedTlsFailure Failure { get; }

    /// <summary>For <see cref="AttestedTlsFailure.DocumentInvalid"/>: the document's own failure; otherwise <see cref="AttestationFailure.None"/>.</summary>
    public AttestationFailure DocumentFailure =>
        Failure == AttestedTlsFailure.DocumentInvalid ? DocumentVerification!.Failure : AttestationFailure.None;

    /// <summary>A human-readable account of the failure (which certificate, field, time or value), or <see langword="null"/> on success.</summary>
    public string? Detail { get; }

    /// <summary>Uppercase hex SHA-256 of the served certificate's DER (empty when there was none).</summary>
    public string CertificateThumbprint { get; }

    /// <summary>When the served certificate expires.</summary>
    public DateTimeOffset CertificateNotAfter { get; }

    /// <summary>The document's own verification, whenever a document was found (also when a later check failed).</summary>
    public AttestationVerificationResult? DocumentVerification { get; }

    /// <summary>The verified document on success; <see langword="null"/> otherwise.</summary>
    public AttestationDocument? Document => IsValid ? DocumentVerification!.Document!.Document : null;

    /// <summary>The nonce the document was required to carry, or <see langword="null"/> when freshness was not asked for.</summary>
    public byte[]? Nonce { get; }

    /// <summary>
    /// On success, until when this verification holds: the earliest of the document chain's expiry, the document's
    /// timestamp plus the maximum age, and the TLS chain's expiry. How long the verifier caches it.
    /// </summary>
    public DateTimeOffset ValidUntil { get; }

    /// <summary>Whether this success was answered from the verifier's cache rather than verified again.</summary>
    public bool FromCache { get; }

    /// <summary><c>Valid</c>, or the reason (with the document's own reason for <see cref="AttestedTlsFailure.DocumentInvalid"/>) and detail.</summary>
    public override string ToString() => Failure switch
    {
        AttestedTlsFailure.None => "Valid",
        AttestedTlsFailure.DocumentInvalid => $"{Failure} ({DocumentFailure}): {Detail}",
        _ => $"{Failure}: {Detail}",
    };

    internal static AttestedTlsResult Valid(
        string thumbprint, DateTimeOffset notAfter, AttestationVerificationResult verification, byte[]? nonce, DateTimeOffset validUntil) =>
        new(AttestedTlsFailure.None, null, thumbprint, notAfter, verification, nonce, validUntil, fromCache: false);

    internal static AttestedTlsResult Failed(
        AttestedTlsFailure failure, string detail, string thumbprint, DateTimeOffset notAfter,
        AttestationVerificationResult? verification = null, byte[]? nonce = null) =>
        new(failure, detail, thumbprint, notAfter, verification, nonce, DateTimeOffset.MinValue, fromCache: false);

    internal AttestedTlsResult AsCached() =>
        new(Failure, Detail, CertificateThumbprint, CertificateNotAfter, DocumentVerification, Nonce, ValidUntil, fromCache: true);
}

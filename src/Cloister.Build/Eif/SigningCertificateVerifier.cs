using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Verification;

namespace Cloister.Build.Eif;

/// <summary>
/// Checks an image's signing certificate itself, which nitro-cli's <c>SignatureCheck</c> does not: the COSE signature
/// proves only that the certificate's key signed PCR0, so a certificate edited after signing (PCR8 changes with it)
/// would otherwise pass. The certificate must be canonical DER; with trust anchors it must chain to one of them;
/// without, a self-signed certificate must verify with its own key, and one issued by another cannot be checked.
/// </summary>
internal static class SigningCertificateVerifier
{
    private const string AuthorityKeyIdentifierOid = "2.5.29.35";
    private const string SubjectKeyIdentifierOid = "2.5.29.14";

    public static EifCertificateCheck Check(X509Certificate2 certificate, IReadOnlyCollection<X509Certificate2>? anchors)
    {
        if (CertificateDer.FindProblem(certificate.RawDataMemory) is { } problem)
        {
            return new EifCertificateCheck(EifCertificateTrust.Malformed, $"is malformed: {problem}");
        }

        try
        {
            return anchors is null ? CheckOwnSignature(certificate) : CheckChain(certificate, anchors);
        }
        catch (CryptographicException ex)
        {
            return new EifCertificateCheck(EifCertificateTrust.Malformed, $"cannot be processed: {ex.Message}");
        }
    }

    private static EifCertificateCheck CheckOwnSignature(X509Certificate2 certificate)
    {
        if (CertificateSignature.Check(certificate.RawDataMemory, certificate) is not { } problem)
        {
            return new EifCertificateCheck(EifCertificateTrust.SelfSigned, "is self-signed and its signature verifies with its own key");
        }

        return SelfSignedClaim(certificate) is { } claim
            ? new EifCertificateCheck(EifCertificateTrust.BadSelfSignature, $"{claim}, but {problem}")
            : new EifCertificateCheck(EifCertificateTrust.IssuerNotChecked, $"is issued by '{certificate.Issuer}', whose certificate was not given, so its own signature was not checked");
    }

    // What makes a certificate self-signed by its own account: then its key must have signed it.
    private static string? SelfSignedClaim(X509Certificate2 certificate)
    {
        if (certificate.IssuerName.RawData.AsSpan().SequenceEqual(certificate.SubjectName.RawData))
        {
            return "names itself as its issuer";
        }

        var authority = certificate.Extensions[AuthorityKeyIdentifierOid] is { } a ? new X509AuthorityKeyIdentifierExtension(a.RawData).KeyIdentifier : null;
        var subject = certificate.Extensions[SubjectKeyIdentifierOid] is { } s ? new X509SubjectKeyIdentifierExtension(s, s.Critical).SubjectKeyIdentifierBytes : (ReadOnlyMemory<byte>?)null;
        return authority is { } authorityKey && subject is { } subjectKey && authorityKey.Span.SequenceEqual(subjectKey.Span)
            ? "names its own key as its authority key"
            : null;
    }

    private static EifCertificateCheck CheckChain(X509Certificate2 certificate, IReadOnlyCollection<X509Certificate2> anchors)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(anchors.ToArray());
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        // The validity dates are shown, not judged: an image stays signed after its certificate expires, and neither
        // nitro-cli nor the Nitro hypervisor looks at them (PCR8 is only a hash).
        policy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        try
        {
            return chain.Build(certificate)
                ? new EifCertificateCheck(EifCertificateTrust.Anchored, $"chains to the trust anchor '{chain.ChainElements[^1].Certificate.Subject}'")
                : new EifCertificateCheck(EifCertificateTrust.NotAnchored, $"does not chain to a given trust anchor: {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct())}");
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }
}

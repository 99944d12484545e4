using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Nsm;
using Cloister.Enclave.Nitro;
using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Makes attested leaves for one port: a fresh P-256 key, an NSM document with <c>user_data</c> = the key's
/// SubjectPublicKeyInfo and <c>nonce</c> = the client's or 32 random bytes (<c>public_key</c> unset), and a leaf with the
/// document in its SANs, valid from a few minutes ago until the document's signing certificate expires.
/// </summary>
internal sealed class AttestedCertificateFactory(NsmDevice nsm, ICertificateIssuer issuer, IReadOnlyList<string> hostnames, TimeProvider timeProvider)
{
    /// <summary>The nonce of a document nobody asked a nonce for: fresh, so no two base documents are alike.</summary>
    public const int RandomNonceLength = 32;

    // Clients' clocks run a little behind ours; a leaf valid only from "now" would fail for them for no reason.
    private static readonly TimeSpan s_clockSkewAllowance = TimeSpan.FromMinutes(5);

    /// <summary>The NSM that signs the documents.</summary>
    public NsmDevice Nsm => nsm;

    /// <summary>The names the leaves carry, before the document's label.</summary>
    public IReadOnlyList<string> Hostnames => hostnames;

    /// <summary>Makes a leaf whose document carries <paramref name="nonce"/>, or a random nonce when it is <see langword="null"/>.</summary>
    /// <exception cref="NsmAttestationException">The NSM refused the request, or answered something other than a document or a document that does not decode.</exception>
    /// <exception cref="IOException">The NSM device failed.</exception>
    /// <exception cref="ArgumentException">A hostname is not a DNS name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ServedCertificate> IssueAsync(byte[]? nonce, CancellationToken cancellationToken)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyBinding = AttestedCertificate.GetKeyBinding(key);
        var document = await NsmAttestation.GetDocumentAsync(nsm, new AttestationRequest(keyBinding, nonce ?? RandomNumberGenerator.GetBytes(RandomNonceLength)), cancellationToken);
        DateTimeOffset notBefore, notAfter;
        try
        {
            (notBefore, notAfter) = SigningCertificateValidity(document);
        }
        catch (Exception ex) when (ex is AttestationFormatException or CryptographicException)
        {
            // An NSM that answers garbage is a broken device, not bad input.
            throw new NsmAttestationException($"NSM: its document does not decode: {ex.Message}", ex);
        }


        var now = timeProvider.GetUtcNow();
        var certificate = issuer.Issue(key, document, hostnames, now - s_clockSkewAllowance, notAfter > now ? notAfter : now + s_clockSkewAllowance);
        return new ServedCertificate(certificate, document, keyBinding, notBefore, notAfter, issuer.Chain);
    }

    /// <summary>The document's own certificate: its validity decides how long a leaf that embeds it is worth serving.</summary>
    /// <exception cref="AttestationFormatException">The document does not decode.</exception>
    /// <exception cref="CryptographicException">Its certificate does not parse.</exception>
    public static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) SigningCertificateValidity(ReadOnlySpan<byte> document)
    {
        using var signer = X509CertificateLoader.LoadCertificate(AttestationDocumentDecoder.Decode(document).Document.Certificate);
        return (new DateTimeOffset(signer.NotBefore.ToUniversalTime()), new DateTimeOffset(signer.NotAfter.ToUniversalTime()));
    }
}

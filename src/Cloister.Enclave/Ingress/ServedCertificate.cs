using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Enclave.Ingress;

/// <summary>An attested leaf and what it was made from.</summary>
/// <param name="Certificate">The leaf, with its private key.</param>
/// <param name="Document">The COSE_Sign1 attestation document embedded in it.</param>
/// <param name="KeyBinding">The DER SubjectPublicKeyInfo of its key: the document's user_data.</param>
/// <param name="SigningCertificateNotBefore">When the certificate that signed the document became valid.</param>
/// <param name="SigningCertificateNotAfter">When the certificate that signed the document expires; the leaf expires with it.</param>
/// <param name="Chain">The certificates served after the leaf (the deployment's intermediate CA); none for a self-signed leaf.</param>
internal sealed record ServedCertificate(
    X509Certificate2 Certificate,
    byte[] Document,
    byte[] KeyBinding,
    DateTimeOffset SigningCertificateNotBefore,
    DateTimeOffset SigningCertificateNotAfter,
    X509Certificate2Collection? Chain = null)
{
    /// <summary>The leaf with its chain, ready for a handshake (chain building done once, offline).</summary>
    public SslStreamCertificateContext CreateContext() => SslStreamCertificateContext.Create(Certificate, Chain, offline: true);

    /// <summary>The leaf's SHA-256 thumbprint in lowercase hex, as the log shows it.</summary>
    public string Sha256Thumbprint => Convert.ToHexStringLower(Certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));
}

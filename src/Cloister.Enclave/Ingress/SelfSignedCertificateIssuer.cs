using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;

namespace Cloister.Enclave.Ingress;

/// <summary>Standalone mode: every leaf signs itself; what makes it trustworthy is the document inside it.</summary>
internal sealed class SelfSignedCertificateIssuer : ICertificateIssuer
{
    public static readonly SelfSignedCertificateIssuer Instance = new();

    private SelfSignedCertificateIssuer()
    {
    }

    public X509Certificate2Collection? Chain => null;

    public X509Certificate2 Issue(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        AttestedCertificate.CreateSelfSigned(leafKey, document, hostnames, notBefore, notAfter);
}

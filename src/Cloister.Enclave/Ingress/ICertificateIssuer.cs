using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Signs attested leaves. Standalone, they are self-signed (<see cref="SelfSignedCertificateIssuer"/>: clients pin PCRs,
/// not a CA); the provisioner's deployment CA, when it exists, is a second implementation over
/// <c>AttestedCertificate.CreateIssued</c>, and nothing else changes.
/// </summary>
internal interface ICertificateIssuer
{
    /// <summary>The leaf for <paramref name="leafKey"/> with <paramref name="document"/> embedded, with its private key.</summary>
    /// <exception cref="ArgumentException">A hostname is not a DNS name, or the validity does not fit the issuer's.</exception>
    X509Certificate2 Issue(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter);
}

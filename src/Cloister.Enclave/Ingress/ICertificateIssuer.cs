using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Signs attested leaves. Standalone, they are self-signed (<see cref="SelfSignedCertificateIssuer"/>: clients pin PCRs,
/// not a CA); provisioned, the deployment's intermediate CA signs them (<see cref="Provisioning.DeploymentCertificateIssuer"/>).
/// </summary>
internal interface ICertificateIssuer
{
    /// <summary>The certificates served after each leaf, nearest first; <see langword="null"/> for self-signed leaves.</summary>
    X509Certificate2Collection? Chain { get; }

    /// <summary>The leaf for <paramref name="leafKey"/> with <paramref name="document"/> embedded, with its private key.</summary>
    /// <exception cref="ArgumentException">A hostname is not a DNS name, or the validity does not fit the issuer's.</exception>
    X509Certificate2 Issue(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter);
}

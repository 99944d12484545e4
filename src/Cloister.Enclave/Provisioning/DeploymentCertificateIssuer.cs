using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Enclave.Ingress;
using Cloister.Runtime.Provisioning;

namespace Cloister.Enclave.Provisioning;

/// <summary>
/// Provisioned mode: attested leaves (the same SANs and extensions as self-signed ones, docs/attested-tls.md) signed by
/// the deployment's intermediate CA, served with the intermediate so clients can chain them to the provisioner's root.
/// </summary>
internal sealed class DeploymentCertificateIssuer : ICertificateIssuer, IDisposable
{
    private readonly X509Certificate2 _ca;

    private DeploymentCertificateIssuer(X509Certificate2 ca, X509Certificate2Collection chain)
    {
        _ca = ca;
        Chain = chain;
    }

    public X509Certificate2Collection? Chain { get; }

    /// <summary>The CA's subject, for the log.</summary>
    public string Subject => _ca.Subject;

    /// <summary>Reads the CA from a provisioning answer.</summary>
    /// <exception cref="FormatException">The certificate or key is not PEM, they do not match, or the certificate is not a CA.</exception>
    public static DeploymentCertificateIssuer From(ProvisionedCertificateAuthority authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        X509Certificate2 ca;
        try
        {
            ca = X509Certificate2.CreateFromPem(authority.Certificate, authority.PrivateKey);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new FormatException($"the deployment CA's certificate and key do not form a CA: {ex.Message}", ex);
        }

        var chain = new X509Certificate2Collection();
        try
        {
            if (ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            {
                throw new FormatException($"the deployment CA '{ca.Subject}' is not a CA certificate");
            }

            // The leaf's chain is the intermediate and whatever lies between it and the root; the root is the client's.
            chain.Add(X509CertificateLoader.LoadCertificate(ca.RawData));
            foreach (var pem in authority.Chain)
            {
                var above = X509Certificate2.CreateFromPem(pem);
                if (above.SubjectName.RawData.AsSpan().SequenceEqual(above.IssuerName.RawData))
                {
                    above.Dispose();
                    continue;
                }

                chain.Add(above);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            ca.Dispose();
            foreach (var certificate in chain)
            {
                certificate.Dispose();
            }

            throw ex as FormatException ?? new FormatException($"the deployment CA's chain does not parse: {ex.Message}", ex);
        }

        return new DeploymentCertificateIssuer(ca, chain);
    }

    public X509Certificate2 Issue(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        // A leaf may not outlive, nor predate, the CA that signs it.
        var caNotBefore = new DateTimeOffset(_ca.NotBefore.ToUniversalTime());
        var caNotAfter = new DateTimeOffset(_ca.NotAfter.ToUniversalTime());
        return AttestedCertificate.CreateIssued(
            leafKey, document, hostnames, notBefore < caNotBefore ? caNotBefore : notBefore, notAfter > caNotAfter ? caNotAfter : notAfter, _ca);
    }

    public void Dispose()
    {
        _ca.Dispose();
        foreach (var certificate in Chain!)
        {
            certificate.Dispose();
        }
    }
}

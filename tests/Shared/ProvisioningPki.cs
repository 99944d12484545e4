using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Testing;

/// <summary>Certificates as the provisioner makes them (P-384 throughout), for tests of the parties that talk to it.</summary>
internal static class ProvisioningPki
{
    private static readonly DateTimeOffset s_notBefore = DateTimeOffset.UtcNow.AddDays(-1);
    private static readonly DateTimeOffset s_notAfter = DateTimeOffset.UtcNow.AddDays(30);

    /// <summary>A self-signed TLS server certificate for <c>localhost</c> with a fresh P-384 key: a provisioner's <c>tls.pem</c>.</summary>
    public static X509Certificate2 ServerCertificate(string name = "localhost")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA384);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(s_notBefore, s_notAfter);
    }

    /// <summary>A CA certificate with its key: self-signed without <paramref name="issuer"/>, else issued by it.</summary>
    public static X509Certificate2 CertificateAuthority(string commonName, X509Certificate2? issuer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: issuer is not null, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(s_notBefore, s_notAfter);
        }

        using var issued = request.Create(issuer, s_notBefore.AddMinutes(1), s_notAfter.AddMinutes(-1), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>A client certificate issued by <paramref name="ca"/> whose OU is the role (<c>host</c>, <c>operator</c>), with its key.</summary>
    public static X509Certificate2 ClientCertificate(X509Certificate2 ca, string name, string role)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={name}, OU={role}", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var issued = request.Create(ca, s_notBefore.AddMinutes(1), s_notAfter.AddMinutes(-1), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The certificate's private key as PKCS#8 PEM.</summary>
    public static string PrivateKeyPem(X509Certificate2 certificate) =>
        (certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("the certificate has no EC private key", nameof(certificate))).ExportPkcs8PrivateKeyPem();

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="root"/> (no revocation, no system roots).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root, X509Certificate2Collection? intermediates = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }

        return chain.Build(certificate);
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Testing.Kms;

/// <summary>TLS server certificates for test KMS endpoints, issued by a test root as a public CA issues KMS's.</summary>
internal static class KmsEndpointCertificate
{
    /// <summary>A server certificate for <paramref name="name"/> (a DNS subject alternative name) issued by <paramref name="root"/>, with its key.</summary>
    public static X509Certificate2 Issue(X509Certificate2 root, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var issued = request.Create(root, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Testing;

/// <summary>A P-256 test CA (a root, or an intermediate under another) for the CA mode of attested TLS. Linked into the client and CLI tests.</summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private TestCertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A CA valid from a day before <paramref name="now"/> for a year, self-signed or issued by <paramref name="parent"/>.</summary>
    public static TestCertificateAuthority Create(string subject, DateTimeOffset now, TestCertificateAuthority? parent = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var (notBefore, notAfter) = (now.AddDays(-1), now.AddDays(365));
        if (parent is null)
        {
            return new(request.CreateSelfSigned(notBefore, notAfter));
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(parent.Certificate, true, false));
        using var issued = request.Create(parent.Certificate, notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
        return new(issued.CopyWithPrivateKey(key));
    }

    /// <summary>The certificate without its key, as a client holds it.</summary>
    public X509Certificate2 PublicCertificate() => X509CertificateLoader.LoadCertificate(Certificate.RawData);

    /// <summary>The certificate as PEM.</summary>
    public string Pem() => Certificate.ExportCertificatePem();

    public void Dispose() => Certificate.Dispose();
}

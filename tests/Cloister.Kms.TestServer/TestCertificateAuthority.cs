using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Kms.TestServer;

/// <summary>
/// The test KMS's own TLS trust: a self-signed CA made at start and a server certificate it issues for
/// <c>localhost</c> and <c>127.0.0.1</c>, so a client trusts the server by adding only the CA (as an image's
/// <c>kms_proxy.ca_file</c> does).
/// </summary>
/// <remarks>
/// Validity comes from the system clock, not the server's <see cref="KmsTestServerOptions.TimeProvider"/>: clients
/// check the certificate against their own real clock, whatever time the test makes KMS believe it is.
/// </remarks>
internal sealed class TestCertificateAuthority : IDisposable
{
    public TestCertificateAuthority()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Cloister Test KMS CA, O=Cloister", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
        Certificate = X509CertificateLoader.LoadCertificate(ca.RawData);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var issued = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(29), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        // Kestrel's TLS on Linux wants a certificate whose key it can export into its own context: round-trip through PKCS#12.
        ServerCertificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The CA certificate (public only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The server's certificate with its private key.</summary>
    public X509Certificate2 ServerCertificate { get; }

    public void Dispose()
    {
        Certificate.Dispose();
        ServerCertificate.Dispose();
    }
}

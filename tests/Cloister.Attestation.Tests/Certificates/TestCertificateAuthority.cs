using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;

namespace Cloister.Testing;

/// <summary>
/// A P-384 test CA for the CA mode of attested TLS: a root, or an intermediate under another (CA:true, pathLen 0), as a
/// provisioner makes them, optionally name-constrained. Linked into the client and CLI tests.
/// </summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private TestCertificateAuthority(X509Certificate2 certificate, TestCertificateAuthority? parent)
    {
        Certificate = certificate;
        Parent = parent;
    }

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The issuer, or <see langword="null"/> for a root.</summary>
    public TestCertificateAuthority? Parent { get; }

    /// <summary>
    /// A CA valid from a day before <paramref name="now"/> for a year (or until <paramref name="notAfter"/>), self-signed or
    /// issued by <paramref name="parent"/>, with <paramref name="nameConstraints"/> when given (critical or not, as written).
    /// </summary>
    public static TestCertificateAuthority Create(
        string subject, DateTimeOffset now, TestCertificateAuthority? parent = null, X509Extension? nameConstraints = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, parent is not null, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (nameConstraints is not null)
        {
            request.CertificateExtensions.Add(nameConstraints);
        }

        var (from, until) = (now.AddDays(-1), notAfter ?? now.AddDays(365));
        if (parent is null)
        {
            return new(request.CreateSelfSigned(from, until), null);
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(parent.Certificate, true, false));
        // A wall-clock caller's later "now" would otherwise outlive the parent by the milliseconds between the two.
        var parentNotAfter = new DateTimeOffset(parent.Certificate.NotAfter.ToUniversalTime());
        using var issued = request.Create(parent.Certificate, from, until < parentNotAfter ? until : parentNotAfter, RandomNumberGenerator.GetBytes(8));
        return new(issued.CopyWithPrivateKey(key), parent);
    }

    /// <summary>A deployment's intermediate as the provisioner makes it: issued by <paramref name="root"/>, permitting exactly <paramref name="hostnames"/>.</summary>
    public static TestCertificateAuthority Deployment(TestCertificateAuthority root, DateTimeOffset now, params string[] hostnames) =>
        Create("CN=deployment intermediate", now, root, NameConstraints.Write(hostnames));

    /// <summary>
    /// This intermediate again, public part only: the same subject, key and extensions from the same issuer, but valid
    /// <paramref name="notBefore"/> .. <paramref name="notAfter"/>. So a leaf it issued chains through it unchanged.
    /// </summary>
    public X509Certificate2 Reissued(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var parent = Parent ?? throw new InvalidOperationException("a root is not reissued here");
        using var key = Certificate.GetECDsaPrivateKey()!;
        var request = new CertificateRequest(Certificate.SubjectName, key, HashAlgorithmName.SHA384);
        foreach (var extension in Certificate.Extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        return request.Create(parent.Certificate, notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>The certificate without its key, as a client holds it.</summary>
    public X509Certificate2 PublicCertificate() => X509CertificateLoader.LoadCertificate(Certificate.RawData);

    /// <summary>The certificate as PEM.</summary>
    public string Pem() => Certificate.ExportCertificatePem();

    public void Dispose() => Certificate.Dispose();
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Testing;

namespace Cloister.Build.Tests;

/// <summary>The EIF fixtures under tests/vectors/eif and test signing identities.</summary>
internal static class TestVectors
{
    public static string EifDirectory => RepositoryPaths.Vector("eif");

    public static string Derived(string name) => Path.Combine(EifDirectory, "derived", name);

    public static string Published(string name) => Path.Combine(EifDirectory, "published", name);

    public static JsonElement Expected { get; } = JsonDocument.Parse(File.ReadAllBytes(Derived("synthetic-expected.json"))).RootElement;

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    /// <summary>A fresh self-signed signing certificate (PEM bytes) and its key on <paramref name="curve"/>.</summary>
    public static (byte[] CertificatePem, ECDsa Key) CreateSigningIdentity(ECCurve curve, string subject = "CN=cloister-test-signer")
    {
        var key = ECDsa.Create(curve);
        var hash = key.KeySize switch { 256 => HashAlgorithmName.SHA256, 384 => HashAlgorithmName.SHA384, _ => HashAlgorithmName.SHA512 };
        var request = new CertificateRequest(subject, key, hash);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2034, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return (System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"), key);
    }

    /// <summary>
    /// A signing identity as <c>openssl req -x509</c> makes it: self-signed P-384 with subject and authority key
    /// identifiers (the authority one names its own key), or issued by <paramref name="issuer"/> when given.
    /// </summary>
    public static (byte[] CertificatePem, ECDsa Key) CreateSigningIdentityWithKeyIdentifiers(string subject, X509Certificate2? issuer = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA384);
        var subjectKeyIdentifier = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKeyIdentifier);
        request.CertificateExtensions.Add(issuer is null
            ? X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyIdentifier)
            : X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var certificate = issuer is null
            ? request.CreateSelfSigned(NotBefore, NotAfter)
            : request.Create(issuer, NotBefore, NotAfter, RandomNumberGenerator.GetBytes(16));
        return (System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"), key);
    }

    /// <summary>A self-signed P-384 CA that can issue signing certificates; the certificate holds its private key.</summary>
    public static X509Certificate2 CreateCertificateAuthority(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(NotBefore, NotAfter);
    }

    /// <summary>
    /// The PEM with one base64 character changed so that the DER byte inside the authority key identifier's key id
    /// changes: the certificate still parses and is still canonical DER, but it is no longer what its issuer signed.
    /// </summary>
    public static byte[] TamperAuthorityKeyIdentifier(byte[] certificatePem)
    {
        var pem = System.Text.Encoding.ASCII.GetString(certificatePem);
        var der = X509Certificate2.CreateFromPem(pem).RawData;
        // extnID 2.5.29.35, then OCTET STRING { SEQUENCE { [0] keyIdentifier (20 bytes) } }.
        var extension = der.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x06, 0x03, 0x55, 0x1D, 0x23]);
        var keyIdentifier = extension + der.AsSpan(extension).IndexOf((ReadOnlySpan<byte>)[0x80, 0x14]) + 2;
        var derByte = keyIdentifier + 10;
        // The first base64 character whose 6 bits lie inside that byte or the next, both in the key id.
        var character = ((8 * derByte) + 5) / 6;
        var body = pem.IndexOf('\n', StringComparison.Ordinal) + 1;
        var position = body + character + (character / 64);
        var chars = pem.ToCharArray();
        chars[position] = chars[position] == 'A' ? 'B' : 'A';
        return System.Text.Encoding.ASCII.GetBytes(chars);
    }

    private static DateTimeOffset NotBefore => new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset NotAfter => new(2034, 1, 1, 0, 0, 0, TimeSpan.Zero);
}

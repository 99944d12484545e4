using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Simulation;

/// <summary>
/// Issues the simulated chain's certificates in the shape of AWS's Nitro chain (reference/eif-nsm-spec.md §6.3):
/// P-384 keys, ecdsa-with-SHA384 signatures, names under our own organisation so nobody mistakes them for AWS's.
/// </summary>
internal static class SimulatedCertificate
{
    public const string Organization = "Cloister";
    public const string OrganizationalUnit = "Simulated Nitro Enclaves";

    public static X500DistinguishedName Name(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName(Organization);
        builder.AddOrganizationalUnitName(OrganizationalUnit);
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    public static ECDsa CreateKey() => ECDsa.Create(ECCurve.NamedCurves.nistP384);

    /// <summary>
    /// Signs a certificate for <paramref name="subjectKey"/>. <paramref name="issuer"/> is <see langword="null"/> for a
    /// self-signed certificate, which then also gets no authority key identifier (as AWS's root has none).
    /// </summary>
    public static X509Certificate2 Issue(
        X500DistinguishedName subject,
        ECDsa subjectKey,
        (X509Certificate2 Certificate, ECDsa Key)? issuer,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        byte[] serialNumber,
        params X509Extension[] extensions)
    {
        var request = new CertificateRequest(subject, subjectKey, HashAlgorithmName.SHA384);
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        if (issuer is { } parent)
        {
            request.CertificateExtensions.Add(
                X509AuthorityKeyIdentifierExtension.CreateFromCertificate(parent.Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        }

        var issuerName = issuer?.Certificate.SubjectName ?? subject;
        var signer = X509SignatureGenerator.CreateForECDsa(issuer?.Key ?? subjectKey);
        return request.Create(issuerName, signer, notBefore, notAfter, serialNumber);
    }

    /// <summary>A random positive serial number of <paramref name="length"/> bytes.</summary>
    public static byte[] RandomSerialNumber(int length)
    {
        var serial = RandomNumberGenerator.GetBytes(length);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    /// <summary><paramref name="time"/> cut to whole seconds: X.509 validity has no finer resolution.</summary>
    public static DateTimeOffset WholeSeconds(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}

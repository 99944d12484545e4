using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// The attested TLS certificate, compatible with Evervault's scheme so their published validators accept ours: a leaf
/// whose key's SubjectPublicKeyInfo is the <c>user_data</c> of an attestation document, and whose DNS SANs are the
/// service's hostnames followed by <c>&lt;lowercase hex of the document&gt;.&lt;first hostname&gt;</c>.
/// </summary>
/// <remarks>
/// The document label is thousands of characters long, far past DNS's 63-character label limit, so the SAN extension is
/// written and read with <see cref="AsnWriter"/>/<see cref="AsnReader"/>: .NET's SAN builder validates labels and refuses it.
/// </remarks>
public static class AttestedCertificate
{
    /// <summary>
    /// Labels up to this length are ordinary DNS labels; a document label is always longer (a document is kilobytes), so a
    /// short hex-looking hostname label such as <c>cafe</c> is never mistaken for one.
    /// </summary>
    public const int MaxDnsLabelLength = 63;

    private const string SubjectAltNameOid = "2.5.29.17";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private static readonly Asn1Tag s_dnsNameTag = new(TagClass.ContextSpecific, 2);
    private static readonly SearchValues<char> s_hexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<char> s_hostnameCharacters = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*");

    /// <summary>Creates the self-signed leaf of standalone mode, where clients trust PCRs rather than a CA.</summary>
    /// <param name="leafKey">The certificate's fresh P-256 or P-384 key, whose SubjectPublicKeyInfo is the document's user_data.</param>
    /// <param name="document">The COSE_Sign1 attestation document to embed.</param>
    /// <param name="hostnames">The service's hostnames, at least one; the first also names the subject and carries the document label.</param>
    /// <param name="notBefore">The start of validity.</param>
    /// <param name="notAfter">The end of validity, normally when the document's signing certificate expires.</param>
    /// <returns>The certificate, with <paramref name="leafKey"/> as its private key.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="leafKey"/> or <paramref name="hostnames"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The key is not P-256 or P-384, the document is empty, there is no hostname or one is not a DNS name, or the validity is empty.</exception>
    public static X509Certificate2 CreateSelfSigned(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = CreateRequest(leafKey, document, hostnames, notBefore, notAfter);
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>Creates the leaf signed by a deployment's intermediate CA (the provisioner-issued mode).</summary>
    /// <param name="leafKey">The certificate's fresh P-256 or P-384 key, whose SubjectPublicKeyInfo is the document's user_data.</param>
    /// <param name="document">The COSE_Sign1 attestation document to embed.</param>
    /// <param name="hostnames">The service's hostnames, at least one; the first also names the subject and carries the document label.</param>
    /// <param name="notBefore">The start of validity.</param>
    /// <param name="notAfter">The end of validity; it must lie within the issuer's.</param>
    /// <param name="issuer">The CA certificate, with its private key.</param>
    /// <returns>The certificate, with <paramref name="leafKey"/> as its private key.</returns>
    /// <exception cref="ArgumentNullException">A reference argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The key is not P-256 or P-384, the document is empty, there is no hostname or one is not a DNS name, the validity is
    /// empty or outside the issuer's, or the issuer has no private key.
    /// </exception>
    public static X509Certificate2 CreateIssued(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter, X509Certificate2 issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (!issuer.HasPrivateKey)
        {
            throw new ArgumentException("the issuer certificate has no private key", nameof(issuer));
        }

        if (notBefore < issuer.NotBefore || notAfter > issuer.NotAfter)
        {
            throw new ArgumentException($"the validity {notBefore:O} .. {notAfter:O} lies outside the issuer's {issuer.NotBefore.ToUniversalTime():O} .. {issuer.NotAfter.ToUniversalTime():O}", nameof(notAfter));
        }

        var request = CreateRequest(leafKey, document, hostnames, notBefore, notAfter);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(issuer, notBefore, notAfter, NewSerialNumber());
        return issued.CopyWithPrivateKey(leafKey);
    }

    /// <summary>The key binding: the DER SubjectPublicKeyInfo of the certificate's key, which the document's user_data must equal.</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The DER bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    public static byte[] GetKeyBinding(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.PublicKey.ExportSubjectPublicKeyInfo();
    }

    /// <summary>The key binding of a key: the DER SubjectPublicKeyInfo an enclave puts in user_data before it has a certificate.</summary>
    /// <param name="key">The leaf key.</param>
    /// <returns>The DER bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    public static byte[] GetKeyBinding(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>Finds the embedded document: the longest first label of the DNS SANs that is hex and longer than a DNS label may be.</summary>
    /// <param name="certificate">The certificate.</param>
    /// <param name="document">The decoded document bytes (not yet verified in any way).</param>
    /// <returns>Whether the certificate carries a document.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    /// <exception cref="CryptographicException">The SAN extension is not valid DER.</exception>
    public static bool TryGetDocument(X509Certificate2 certificate, [NotNullWhen(true)] out byte[]? document)
    {
        string? longest = null;
        foreach (var name in ReadDnsNames(certificate))
        {
            if (DocumentLabel(name) is { } label && label.Length > (longest?.Length ?? 0))
            {
                longest = label;
            }
        }

        document = longest is null ? null : Convert.FromHexString(longest);
        return document is not null;
    }

    /// <summary>The service's hostnames: the DNS SANs other than the document's.</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The names, in certificate order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    /// <exception cref="CryptographicException">The SAN extension is not valid DER.</exception>
    public static IReadOnlyList<string> GetHostnames(X509Certificate2 certificate) =>
        [.. ReadDnsNames(certificate).Where(name => DocumentLabel(name) is null)];

    private static CertificateRequest CreateRequest(ECDsa leafKey, ReadOnlySpan<byte> document, IReadOnlyList<string> hostnames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(leafKey);
        ArgumentNullException.ThrowIfNull(hostnames);
        var hash = leafKey.KeySize switch
        {
            256 => HashAlgorithmName.SHA256,
            384 => HashAlgorithmName.SHA384,
            _ => throw new ArgumentException($"the leaf key must be P-256 or P-384, not a {leafKey.KeySize}-bit key", nameof(leafKey)),
        };
        if (document.IsEmpty)
        {
            throw new ArgumentException("the attestation document is empty", nameof(document));
        }

        if (hostnames.Count == 0)
        {
            throw new ArgumentException("an attested certificate needs at least one hostname", nameof(hostnames));
        }

        foreach (var hostname in hostnames)
        {
            if (!IsDnsName(hostname))
            {
                throw new ArgumentException($"'{hostname}' is not a DNS name (letters, digits, '-', '*', labels of 1 to {MaxDnsLabelLength} characters)", nameof(hostnames));
            }
        }

        if (notAfter <= notBefore)
        {
            throw new ArgumentException($"the validity {notBefore:O} .. {notAfter:O} is empty", nameof(notAfter));
        }

        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(hostnames[0]);
        var request = new CertificateRequest(subject.Build(), leafKey, hash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(new X509Extension(SubjectAltNameOid, WriteSubjectAltNames(hostnames, document), critical: false));
        return request;
    }

    private static byte[] WriteSubjectAltNames(IReadOnlyList<string> hostnames, ReadOnlySpan<byte> document)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var hostname in hostnames)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, hostname, s_dnsNameTag);
            }

            writer.WriteCharacterString(UniversalTagNumber.IA5String, $"{Convert.ToHexStringLower(document)}.{hostnames[0]}", s_dnsNameTag);
        }

        return writer.Encode();
    }

    /// <summary>The certificate's dNSName SANs, and the tag of the first SAN of another form (an IP address, a URI, …) or <see langword="null"/>.</summary>
    /// <exception cref="CryptographicException">The SAN extension is not valid DER.</exception>
    internal static (List<string> DnsNames, Asn1Tag? OtherForm) ReadSubjectAltNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var names = new List<string>();
        Asn1Tag? otherForm = null;
        if (certificate.Extensions[SubjectAltNameOid] is not { } extension)
        {
            return (names, otherForm);
        }

        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (sequence.HasData)
            {
                if (sequence.PeekTag() == s_dnsNameTag)
                {
                    names.Add(sequence.ReadCharacterString(UniversalTagNumber.IA5String, s_dnsNameTag));
                }
                else
                {
                    otherForm ??= sequence.PeekTag();
                    sequence.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException($"the certificate's subjectAltName extension is not valid DER: {ex.Message}", ex);
        }

        return (names, otherForm);
    }

    private static List<string> ReadDnsNames(X509Certificate2 certificate) => ReadSubjectAltNames(certificate).DnsNames;

    private static string? DocumentLabel(string dnsName)
    {
        var end = dnsName.IndexOf('.', StringComparison.Ordinal);
        var label = end < 0 ? dnsName : dnsName[..end];
        return label.Length > MaxDnsLabelLength && label.Length % 2 == 0 && !label.AsSpan().ContainsAnyExcept(s_hexDigits) ? label : null;
    }

    internal static bool IsDnsName(string hostname) =>
        !string.IsNullOrEmpty(hostname) && hostname.Length <= 253 && !hostname.AsSpan().ContainsAnyExcept(s_hostnameCharacters)
        && hostname.Split('.').All(label => label.Length is > 0 and <= MaxDnsLabelLength);

    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        return serial;
    }
}

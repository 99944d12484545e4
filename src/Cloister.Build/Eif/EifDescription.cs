using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Cloister.Build.Json;

namespace Cloister.Build.Eif;

/// <summary>
/// The JSON <c>nitro-cli describe-eif</c> prints, field for field: <c>EifVersion, Measurements, IsSigned,
/// SigningCertificate?, CheckCRC, SignatureCheck?, ImageName?, ImageVersion?, Metadata?</c>, pretty-printed as
/// serde_json does.
/// </summary>
public static class EifDescription
{
    private static readonly Dictionary<string, string> OpenSslLongNames = new(StringComparer.Ordinal)
    {
        ["2.5.4.3"] = "commonName",
        ["2.5.4.4"] = "surname",
        ["2.5.4.5"] = "serialNumber",
        ["2.5.4.6"] = "countryName",
        ["2.5.4.7"] = "localityName",
        ["2.5.4.8"] = "stateOrProvinceName",
        ["2.5.4.9"] = "streetAddress",
        ["2.5.4.10"] = "organizationName",
        ["2.5.4.11"] = "organizationalUnitName",
        ["2.5.4.12"] = "title",
        ["2.5.4.17"] = "postalCode",
        ["2.5.4.42"] = "givenName",
        ["2.5.4.46"] = "dnQualifier",
        ["2.5.4.65"] = "pseudonym",
        ["1.2.840.113549.1.9.1"] = "emailAddress",
        ["0.9.2342.19200300.100.1.25"] = "domainComponent",
        ["1.2.840.10045.4.1"] = "ecdsa-with-SHA1",
        ["1.2.840.10045.4.3.2"] = "ecdsa-with-SHA256",
        ["1.2.840.10045.4.3.3"] = "ecdsa-with-SHA384",
        ["1.2.840.10045.4.3.4"] = "ecdsa-with-SHA512",
        ["1.2.840.113549.1.1.5"] = "sha1WithRSAEncryption",
        ["1.2.840.113549.1.1.10"] = "rsassaPss",
        ["1.2.840.113549.1.1.11"] = "sha256WithRSAEncryption",
        ["1.2.840.113549.1.1.12"] = "sha384WithRSAEncryption",
        ["1.2.840.113549.1.1.13"] = "sha512WithRSAEncryption",
        ["1.3.101.112"] = "ED25519",
    };

    /// <summary>Describes an image as <c>nitro-cli describe-eif</c> does.</summary>
    /// <param name="image">The image (its header and metadata are read).</param>
    /// <param name="inspection">The result of <see cref="EifReader.Inspect"/> on the same image.</param>
    /// <param name="hashAlgorithm">The <c>HashAlgorithm</c> text; <see cref="EifMeasurements.HashAlgorithmNitroCli14"/> or <see cref="EifMeasurements.HashAlgorithmNitroCli15"/>.</param>
    /// <returns>The pretty-printed JSON, without a trailing newline.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="EifFormatException">The metadata section is malformed.</exception>
    public static string ToJson(EifReader image, EifInspection inspection, string hashAlgorithm)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(inspection);
        var metadata = image.ReadMetadata();
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WritePropertyName("EifVersion");
        writer.WriteNumber(image.Header.Version);
        writer.WritePropertyName("Measurements");
        inspection.Measurements.WriteJson(writer, hashAlgorithm);
        writer.WriteProperty("IsSigned", inspection.Signature is not null);
        if (inspection.Signature is { } signature)
        {
            writer.WritePropertyName("SigningCertificate");
            WriteCertificate(writer, signature.Certificate);
        }

        writer.WriteProperty("CheckCRC", inspection.CrcMatches);
        if (inspection.SignatureValid is { } valid)
        {
            writer.WriteProperty("SignatureCheck", valid);
        }

        if (metadata is not null)
        {
            writer.WriteProperty("ImageName", metadata.ImageName);
            writer.WriteProperty("ImageVersion", metadata.ImageVersion);
            writer.WritePropertyName("Metadata");
            metadata.WriteDescription(writer);
        }

        writer.WriteEndObject();
        return writer.ToString();
    }

    /// <summary>
    /// nitro-cli's <c>SignCertificateInfo</c>: the issuer as OpenSSL long name → value (sorted; multi-valued RDNs are
    /// skipped), the signature algorithm's long name, the validity in OpenSSL's <c>ASN1_TIME</c> text, and the
    /// certificate's own signature as colon-separated uppercase hex.
    /// </summary>
    private static void WriteCertificate(SerdeJsonWriter writer, X509Certificate2 certificate)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("IssuerName");
        writer.WriteStartObject();
        var issuer = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var rdn in certificate.IssuerName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementValue() is { } value)
            {
                issuer[LongName(rdn.GetSingleElementType().Value)] = value;
            }
        }

        foreach (var (name, value) in issuer)
        {
            writer.WriteProperty(name, value);
        }

        writer.WriteEndObject();
        writer.WriteProperty("Algorithm", LongName(certificate.SignatureAlgorithm.Value));
        writer.WriteProperty("NotBefore", OpenSslTime(certificate.NotBefore));
        writer.WriteProperty("NotAfter", OpenSslTime(certificate.NotAfter));
        writer.WriteProperty("Signature", string.Join(':', SignatureValue(certificate.RawData).Select(b => b.ToString("X2", CultureInfo.InvariantCulture))));
        writer.WriteEndObject();
    }

    private static string LongName(string? oid) => oid is null ? string.Empty : OpenSslLongNames.GetValueOrDefault(oid, oid);

    // OpenSSL prints ASN1_TIME as "%b %e %H:%M:%S %Y GMT": day padded with a space, e.g. "Jan  1 00:00:00 2024 GMT".
    private static string OpenSslTime(DateTime time)
    {
        var utc = time.ToUniversalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{utc:MMM} {utc.Day,2} {utc:HH:mm:ss yyyy} GMT");
    }

    // BER, not DER: a certificate that is not canonical DER is still described (and fails SignatureCheck).
    private static byte[] SignatureValue(byte[] certificateDer)
    {
        var certificate = new AsnReader(certificateDer, AsnEncodingRules.BER).ReadSequence();
        certificate.ReadEncodedValue();
        certificate.ReadEncodedValue();
        return certificate.ReadBitString(out _);
    }
}

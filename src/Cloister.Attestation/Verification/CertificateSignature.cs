using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Verification;

/// <summary>
/// Checks the signature on one X.509 certificate with its issuer's key, reading the signed bytes (tbsCertificate)
/// from the DER itself: the BCL offers no per-link check, and <see cref="X509Chain"/> would rebuild the chain in
/// whatever order it finds rather than the order the document states.
/// </summary>
internal static class CertificateSignature
{
    /// <summary>Returns <see langword="null"/> when <paramref name="issuer"/>'s key signed <paramref name="der"/>, else why not.</summary>
    public static string? Check(ReadOnlyMemory<byte> der, X509Certificate2 issuer)
    {
        ReadOnlyMemory<byte> tbs;
        string algorithm;
        byte[] signature;
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var certificate = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            tbs = certificate.ReadEncodedValue();
            algorithm = ReadAlgorithm(certificate);
            signature = certificate.ReadBitString(out var unusedBits);
            certificate.ThrowIfNotEmpty();
            if (unusedBits != 0)
            {
                return "the signature BIT STRING has unused bits";
            }

            var tbsFields = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
            if (tbsFields.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                tbsFields.ReadEncodedValue();
            }

            tbsFields.ReadEncodedValue();
            if (ReadAlgorithm(tbsFields) != algorithm)
            {
                return "the signature algorithm inside tbsCertificate differs from the outer one";
            }
        }
        catch (AsnContentException ex)
        {
            return $"the certificate is not DER: {ex.Message}";
        }

        var tbsBytes = tbs.ToArray();
        return algorithm switch
        {
            "1.2.840.10045.4.3.2" => VerifyEcdsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA256),
            "1.2.840.10045.4.3.3" => VerifyEcdsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA384),
            "1.2.840.10045.4.3.4" => VerifyEcdsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA512),
            "1.2.840.113549.1.1.11" => VerifyRsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA256),
            "1.2.840.113549.1.1.12" => VerifyRsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA384),
            "1.2.840.113549.1.1.13" => VerifyRsa(issuer, tbsBytes, signature, HashAlgorithmName.SHA512),
            _ => $"signature algorithm {algorithm} is not supported (ECDSA or RSA PKCS#1 v1.5 with SHA-2)",
        };
    }

    private static string ReadAlgorithm(AsnReader reader)
    {
        var identifier = reader.ReadSequence();
        var oid = identifier.ReadObjectIdentifier();
        // RSA algorithms carry an explicit NULL parameter; ECDSA ones none (RFC 5758 §3.2).
        if (identifier.HasData)
        {
            identifier.ReadNull();
        }

        identifier.ThrowIfNotEmpty();
        return oid;
    }

    private static string? VerifyEcdsa(X509Certificate2 issuer, byte[] tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var key = issuer.GetECDsaPublicKey();
        if (key is null)
        {
            return "the certificate is signed with ECDSA but its issuer's key is not an EC key";
        }

        return Verified(() => key.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence));
    }

    private static string? VerifyRsa(X509Certificate2 issuer, byte[] tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var key = issuer.GetRSAPublicKey();
        if (key is null)
        {
            return "the certificate is signed with RSA but its issuer's key is not an RSA key";
        }

        return Verified(() => key.VerifyData(tbs, signature, hash, RSASignaturePadding.Pkcs1));
    }

    private static string? Verified(Func<bool> verify)
    {
        try
        {
            return verify() ? null : "its signature does not verify with the issuer's key";
        }
        catch (CryptographicException ex)
        {
            return $"its signature cannot be checked: {ex.Message}";
        }
    }
}

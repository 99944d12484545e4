using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Documents;

namespace Cloister.Attestation.Verification;

/// <summary>The outcome of <see cref="ChainValidator.Validate"/>: a verified chain, or the failure and why.</summary>
internal readonly record struct ChainValidation(VerifiedChain? Chain, AttestationFailure Failure, string? Detail)
{
    public static ChainValidation Fail(AttestationFailure failure, string detail) => new(null, failure, detail);
}

/// <summary>
/// Checks the chain <c>[certificate, cabundle[n-1], …, cabundle[0]]</c> link by link, in exactly that order, up to a
/// root that is byte-equal to a trusted one (reference/eif-nsm-spec.md §6.3–6.4). Validity times are not judged
/// here: the chain's window is returned and checked per document, so that a cached chain stays exact.
/// </summary>
internal static class ChainValidator
{
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";

    /// <summary>The DER of the named-curve OID secp384r1 (1.3.132.0.34), the parameters of a P-384 public key.</summary>
    private static ReadOnlySpan<byte> Secp384r1Parameters => [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];

    // The extensions whose meaning this validator enforces or that carry no constraint on the path; any other one
    // marked critical must make the chain fail (RFC 5280 §4.2).
    private static readonly string[] s_understoodCriticalExtensions =
    [
        ExtensionOids.BasicConstraints,
        ExtensionOids.KeyUsage,
        ExtensionOids.ExtendedKeyUsage,
        ExtensionOids.SubjectAlternativeName,
    ];

    public static ChainValidation Validate(AttestationDocument document, IReadOnlyList<byte[]> trustedRoots)
    {
        var bundle = document.CaBundle;
        if (!IsTrusted(bundle[0], trustedRoots))
        {
            return ChainValidation.Fail(
                AttestationFailure.UntrustedRoot, $"cabundle[0] ({DescribeSubject(bundle[0])}) is not one of the trusted roots");
        }

        var length = bundle.Count + 1;
        var names = new string[length];
        var ders = new byte[length][];
        var certificates = new X509Certificate2?[length];
        names[0] = "certificate";
        ders[0] = document.Certificate;
        for (var i = 1; i < length; i++)
        {
            names[i] = $"cabundle[{length - 1 - i}]";
            ders[i] = bundle[length - 1 - i];
        }

        try
        {
            for (var i = 0; i < length; i++)
            {
                try
                {
                    certificates[i] = X509CertificateLoader.LoadCertificate(ders[i]);
                }
                catch (CryptographicException ex)
                {
                    return ChainValidation.Fail(AttestationFailure.Malformed, $"payload.{names[i]}: not an X.509 certificate: {ex.Message}");
                }
            }

            return ValidateLinks(certificates!, ders, names);
        }
        catch (CryptographicException ex)
        {
            // An extension or key that parsed as part of the certificate but cannot be decoded on its own.
            return ChainValidation.Fail(AttestationFailure.ChainInvalid, $"a certificate of the chain cannot be processed: {ex.Message}");
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate?.Dispose();
            }
        }
    }

    private static ChainValidation ValidateLinks(X509Certificate2[] chain, byte[][] ders, string[] names)
    {
        for (var i = 0; i < chain.Length; i++)
        {
            if (FirstUnsupportedCriticalExtension(chain[i]) is { } oid)
            {
                return ChainValidation.Fail(AttestationFailure.ChainInvalid, $"{names[i]} ({chain[i].Subject}) has an unsupported critical extension {oid}");
            }
        }

        for (var i = 0; i + 1 < chain.Length; i++)
        {
            if (CheckLink(chain[i], ders[i], chain[i + 1], caCertificatesBelow: i) is { } problem)
            {
                return ChainValidation.Fail(
                    AttestationFailure.ChainInvalid, $"{names[i]} ({chain[i].Subject}) is not validly issued by {names[i + 1]} ({chain[i + 1].Subject}): {problem}");
            }
        }

        var leaf = chain[0];
        if (leaf.Extensions[ExtensionOids.KeyUsage] is X509KeyUsageExtension usage && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))
        {
            return ChainValidation.Fail(AttestationFailure.ChainInvalid, $"certificate ({leaf.Subject}): keyUsage lacks digitalSignature");
        }

        // Read from the certificate rather than by importing the key: an import validates the point, which costs
        // about as much as a signature check.
        if (leaf.PublicKey.Oid.Value != EcPublicKeyOid
            || leaf.PublicKey.EncodedParameters?.RawData is not { } curve
            || !curve.AsSpan().SequenceEqual(Secp384r1Parameters))
        {
            return ChainValidation.Fail(
                AttestationFailure.UnsupportedAlgorithm, $"certificate ({leaf.Subject}): the key is not EC P-384, so it cannot verify ES384");
        }

        var subjectPublicKeyInfo = leaf.PublicKey.ExportSubjectPublicKeyInfo();
        var leafKey = ECDsa.Create();
        try
        {
            leafKey.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
        }
        catch (CryptographicException ex)
        {
            leafKey.Dispose();
            return ChainValidation.Fail(AttestationFailure.ChainInvalid, $"certificate ({leaf.Subject}): the public key is not a valid P-384 point: {ex.Message}");
        }

        return new ChainValidation(new VerifiedChain(Summarize(chain), new LeafKeyPool(subjectPublicKeyInfo, leafKey)), AttestationFailure.None, null);
    }

    private static string? CheckLink(X509Certificate2 subject, byte[] subjectDer, X509Certificate2 issuer, int caCertificatesBelow)
    {
        if (!subject.IssuerName.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
        {
            return $"its issuer name is '{subject.Issuer}'";
        }

        if (issuer.Extensions[ExtensionOids.BasicConstraints] is not X509BasicConstraintsExtension { CertificateAuthority: true } constraints)
        {
            return "the issuer is not a CA (basicConstraints)";
        }

        if (constraints.HasPathLengthConstraint && constraints.PathLengthConstraint < caCertificatesBelow)
        {
            return $"the issuer's pathLen {constraints.PathLengthConstraint} allows fewer than the {caCertificatesBelow} CA certificate(s) below it";
        }

        if (issuer.Extensions[ExtensionOids.KeyUsage] is X509KeyUsageExtension usage && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            return "the issuer's keyUsage lacks keyCertSign";
        }

        return CertificateSignature.Check(subjectDer, issuer);
    }

    private static string? FirstUnsupportedCriticalExtension(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Critical && Array.IndexOf(s_understoodCriticalExtensions, extension.Oid?.Value) < 0)
            {
                return extension.Oid?.Value ?? "(no OID)";
            }
        }

        return null;
    }

    private static AttestationChain Summarize(X509Certificate2[] chain)
    {
        var (notBefore, notBeforeAt) = (DateTimeOffset.MinValue, 0);
        var (notAfter, notAfterAt) = (DateTimeOffset.MaxValue, 0);
        for (var i = 0; i < chain.Length; i++)
        {
            var from = new DateTimeOffset(chain[i].NotBefore).ToUniversalTime();
            var until = new DateTimeOffset(chain[i].NotAfter).ToUniversalTime();
            if (from > notBefore)
            {
                (notBefore, notBeforeAt) = (from, i);
            }

            if (until < notAfter)
            {
                (notAfter, notAfterAt) = (until, i);
            }
        }

        return new AttestationChain(
            chain[0].Subject, chain[^1].Subject, chain.Length, notBefore, chain[notBeforeAt].Subject, notAfter, chain[notAfterAt].Subject);
    }

    private static bool IsTrusted(byte[] root, IReadOnlyList<byte[]> trustedRoots)
    {
        foreach (var trusted in trustedRoots)
        {
            if (root.AsSpan().SequenceEqual(trusted))
            {
                return true;
            }
        }

        return false;
    }

    private static string DescribeSubject(byte[] der)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return certificate.Subject;
        }
        catch (CryptographicException)
        {
            return "not an X.509 certificate";
        }
    }

    private static class ExtensionOids
    {
        public const string BasicConstraints = "2.5.29.19";
        public const string KeyUsage = "2.5.29.15";
        public const string ExtendedKeyUsage = "2.5.29.37";
        public const string SubjectAlternativeName = "2.5.29.17";
    }
}

using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Build.Eif;

/// <summary>The decoded signature section of an image: the signing certificate and the COSE_Sign1 over PCR0.</summary>
public sealed class EifSignature : IDisposable
{
    private EifSignature(byte[] certificatePem, byte[] coseSign1, X509Certificate2 certificate)
    {
        CertificatePem = certificatePem;
        CoseSign1 = coseSign1;
        Certificate = certificate;
    }

    /// <summary>The certificate PEM bytes as stored.</summary>
    public byte[] CertificatePem { get; }

    /// <summary>The COSE_Sign1 bytes as stored (tagged or untagged).</summary>
    public byte[] CoseSign1 { get; }

    /// <summary>The signing certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>PCR8: the extend of the SHA-384 of the certificate's DER.</summary>
    public byte[] Pcr8 => Pcr.ForCertificate(Certificate);

    /// <summary>Decodes a signature section; only its first entry (the PCR0 signature) is used, as nitro-cli does.</summary>
    /// <param name="section">The section data.</param>
    /// <param name="offset">The file offset of the section data, for error messages.</param>
    /// <returns>The decoded signature.</returns>
    /// <exception cref="EifFormatException">The bytes are not a serde_cbor signature section, it is empty, or its PEM holds no certificate.</exception>
    public static EifSignature Parse(ReadOnlyMemory<byte> section, long offset)
    {
        List<(byte[] CertificatePem, byte[] CoseSign1)> signatures;
        try
        {
            signatures = SerdeCbor.DecodeSignatureSection(section);
        }
        catch (SerdeCborException ex)
        {
            throw new EifFormatException(EifError.BadSignatureSection, offset + ex.Offset, $"{ex.Field} {ex.Detail}; the signature section is a CBOR array of {{signing_certificate, signature}}", ex);
        }

        if (signatures.Count == 0)
        {
            throw new EifFormatException(EifError.BadSignatureSection, offset, "the signature section holds no signature");
        }

        var (pem, cose) = signatures[0];
        var certificate = EifSigner.ParseCertificatePem(pem)
            ?? throw new EifFormatException(EifError.BadSignatureSection, offset, "signing_certificate is not a PEM certificate");
        return new EifSignature(pem, cose, certificate);
    }

    /// <summary>Checks the signing certificate itself: its encoding, and its own signature or its chain to <paramref name="anchors"/>.</summary>
    /// <param name="anchors">The certificates it must chain to, or null to check a self-signed one against its own key.</param>
    /// <returns>What is known of the certificate.</returns>
    public EifCertificateCheck CheckCertificate(IReadOnlyCollection<X509Certificate2>? anchors) => SigningCertificateVerifier.Check(Certificate, anchors);

    /// <summary>
    /// What nitro-cli reports as <c>SignatureCheck</c>: the COSE payload is <c>PcrInfo{0, pcr0}</c> and the COSE
    /// signature verifies with the certificate's public key. Malformed COSE or payload is a failed check.
    /// </summary>
    /// <param name="pcr0">PCR0 measured from the image's sections.</param>
    /// <returns>True when both hold.</returns>
    public bool Verify(ReadOnlySpan<byte> pcr0)
    {
        try
        {
            var message = CoseMessage.DecodeSign1(CoseSign1);
            if (message.Content is not { } content)
            {
                return false;
            }

            var (index, value) = SerdeCbor.DecodePcrInfo(content);
            if (index != 0 || !value.AsSpan().SequenceEqual(pcr0))
            {
                return false;
            }

            using var key = Certificate.GetECDsaPublicKey();
            return key is not null && message.VerifyEmbedded(key);
        }
        catch (Exception ex) when (ex is CryptographicException or CborContentException or InvalidOperationException or FormatException or OverflowException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();
}

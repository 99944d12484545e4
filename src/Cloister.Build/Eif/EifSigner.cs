using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Runtime.Files;

namespace Cloister.Build.Eif;

/// <summary>
/// Signs enclave images as nitro-cli does: a COSE_Sign1 (untagged) over <c>PcrInfo{0, PCR0}</c>, ES256, ES384 or
/// ES512 by the key's curve (P-256, P-384, P-521), stored with the certificate's PEM in the signature section.
/// </summary>
public sealed class EifSigner : IDisposable
{
    private const byte CoseSign1Tag = 0xD2;

    private readonly byte[] _certificatePem;
    private readonly ECDsa _privateKey;
    private readonly HashAlgorithmName _hash;

    /// <summary>Creates a signer from a certificate in PEM form and its EC private key.</summary>
    /// <param name="certificatePem">The certificate PEM exactly as stored in the image (nitro-cli stores the file's bytes).</param>
    /// <param name="privateKey">The private key; the signer takes ownership and disposes it.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The PEM holds no certificate or one that is not canonical DER, the key is not on P-256/P-384/P-521, or it does not match the certificate.</exception>
    public EifSigner(byte[] certificatePem, ECDsa privateKey)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKey);
        Certificate = ParseCertificatePem(certificatePem) ?? throw new ArgumentException("the signing certificate PEM holds no certificate", nameof(certificatePem));
        if (CertificateDer.FindProblem(Certificate.RawDataMemory) is { } problem)
        {
            // describe would refuse the image: its PCR8 would depend on who re-encodes the certificate.
            throw new ArgumentException($"the signing certificate is malformed: {problem}", nameof(certificatePem));
        }

        _hash = privateKey.KeySize switch
        {
            256 => HashAlgorithmName.SHA256,
            384 => HashAlgorithmName.SHA384,
            521 => HashAlgorithmName.SHA512,
            _ => throw new ArgumentException($"the signing key is a {privateKey.KeySize}-bit EC key; P-256, P-384 or P-521 is required", nameof(privateKey)),
        };
        using var certificateKey = Certificate.GetECDsaPublicKey()
            ?? throw new ArgumentException("the signing certificate does not hold an EC public key", nameof(certificatePem));
        if (!certificateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(privateKey.ExportSubjectPublicKeyInfo()))
        {
            throw new ArgumentException("the private key does not belong to the signing certificate", nameof(privateKey));
        }

        _certificatePem = certificatePem;
        _privateKey = privateKey;
    }

    /// <summary>The signing certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Creates a signer from a certificate PEM file and a private key PEM file (SEC1 or PKCS#8, unencrypted).</summary>
    /// <param name="certificatePath">The certificate PEM file; its bytes are stored in the image unchanged.</param>
    /// <param name="privateKeyPath">The EC private key PEM file.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="FileTooLargeException">A file is larger than <see cref="FileSizeLimits.KeyOrCertificate"/>.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    /// <exception cref="ArgumentException">The files hold no certificate or no EC private key, or they do not match.</exception>
    public static EifSigner FromPemFiles(string certificatePath, string privateKeyPath)
    {
        var certificatePem = BoundedFile.ReadAllBytes(certificatePath, FileSizeLimits.KeyOrCertificate, "the signing certificate");
        var privateKeyPem = BoundedFile.ReadAllText(privateKeyPath, FileSizeLimits.KeyOrCertificate, "the private key");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(privateKeyPem);
            return new EifSigner(certificatePem, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a copy of an image with this signature: every section but an existing signature is copied in order,
    /// the new signature section goes last, and the header and CRC are rewritten (<c>nitro-cli sign-eif</c>).
    /// </summary>
    /// <param name="image">The image to sign.</param>
    /// <param name="output">A seekable, writable stream, written from its current position.</param>
    /// <returns>The measurements of the signed image.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="output"/> cannot seek or write.</exception>
    /// <exception cref="EifFormatException">The image's CRC does not match (signing would launder the damage), or it ended early while it was copied.</exception>
    public EifMeasurements SignImage(EifReader image, Stream output)
    {
        ArgumentNullException.ThrowIfNull(image);
        using (var check = image.Inspect())
        {
            check.ThrowIfCrcMismatch();
        }

        using var writer = new EifWriter(output, image.Header.Architecture);
        foreach (var section in image.Sections.Where(s => s.Type != EifSectionType.Signature))
        {
            using var data = image.OpenSection(section);
            writer.WriteSection(section.Type, data, section.Size);
        }

        return writer.Finish(this);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _privateKey.Dispose();
        Certificate.Dispose();
    }

    /// <summary>The certificate inside a PEM, or null when the PEM holds none.</summary>
    internal static X509Certificate2? ParseCertificatePem(byte[] pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(pem));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>The signature section for an image whose PCR0 is <paramref name="pcr0"/>.</summary>
    internal byte[] CreateSignatureSection(ReadOnlySpan<byte> pcr0)
    {
        var payload = SerdeCbor.EncodePcrInfo(0, pcr0);
        var signed = CoseSign1Message.SignEmbedded(payload, new CoseSigner(_privateKey, _hash));

        // .NET writes tag 18; nitro-cli stores the untagged form (as_bytes(false)), which is the rest of the bytes.
        var untagged = signed[0] == CoseSign1Tag ? signed[1..] : signed;
        return SerdeCbor.EncodeSignatureSection([(_certificatePem, untagged)]);
    }
}

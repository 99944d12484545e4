using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Trust;

/// <summary>The roots of trust AWS publishes for Nitro Enclaves attestation, embedded in this assembly.</summary>
public static class NitroRoots
{
    /// <summary>
    /// SHA-256 of the DER of the AWS Nitro Enclaves root G1 (<c>CN=aws.nitro-enclaves</c>), as AWS publishes it;
    /// the embedded copy is checked against it whenever it is loaded.
    /// </summary>
    public const string AwsG1Sha256 = "641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B";

    private const string AwsG1Resource = "Cloister.Attestation.Trust.aws-nitro-root-g1.pem";

    private static readonly Lazy<byte[]> s_awsG1 = new(LoadAwsG1);

    /// <summary>
    /// A new instance of the AWS Nitro Enclaves root G1 (valid 2019-10-28 to 2049-10-28); the caller owns it.
    /// </summary>
    /// <exception cref="CryptographicException">
    /// The embedded certificate is missing or does not have the published fingerprint: the assembly has been
    /// tampered with, and nothing should be trusted.
    /// </exception>
    public static X509Certificate2 AwsG1 => X509CertificateLoader.LoadCertificate(s_awsG1.Value);

    private static byte[] LoadAwsG1()
    {
        using var stream = typeof(NitroRoots).Assembly.GetManifestResourceStream(AwsG1Resource)
            ?? throw new CryptographicException($"the embedded AWS Nitro root G1 ({AwsG1Resource}) is missing");
        using var reader = new StreamReader(stream);
        using var certificate = X509Certificate2.CreateFromPem(reader.ReadToEnd());
        var der = certificate.RawData;
        var fingerprint = Convert.ToHexString(SHA256.HashData(der));
        if (fingerprint != AwsG1Sha256)
        {
            throw new CryptographicException(
                $"the embedded AWS Nitro root G1 has SHA-256 {fingerprint}, not the published {AwsG1Sha256}; refusing to trust it");
        }

        return der;
    }
}

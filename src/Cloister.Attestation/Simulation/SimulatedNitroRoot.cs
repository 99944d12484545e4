using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Simulation;

/// <summary>
/// The root of trust of simulated attestation documents: a self-signed P-384 CA certificate and its private key.
/// Nothing trusts it unless told to; verifiers pin it only when the user names it.
/// </summary>
/// <remarks>
/// Create one with <see cref="Create"/> and keep it with <see cref="ExportCertificatePem"/> and
/// <see cref="ExportPrivateKeyPem"/>; the caller decides where (this type does no file I/O).
/// </remarks>
public sealed class SimulatedNitroRoot : IDisposable
{
    /// <summary>The common name of roots made by <see cref="Create"/>.</summary>
    public const string CommonName = "Cloister Simulated Nitro Root";

    /// <summary>How long a root made by <see cref="Create"/> is valid: 30 years, like AWS's root G1.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30 * 365);

    private SimulatedNitroRoot(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        Key = key;
    }

    /// <summary>The root certificate (public part only): the trust anchor to hand a verifier.</summary>
    public X509Certificate2 Certificate { get; }

    internal ECDsa Key { get; }

    /// <summary>Held while <see cref="Key"/> signs: one root may serve several NSMs, and a key object is not thread-safe.</summary>
    internal Lock SigningLock { get; } = new();

    /// <summary>
    /// Creates a new root: P-384, self-signed with ecdsa-with-SHA384, valid for <see cref="Lifetime"/> from now;
    /// basicConstraints CA (critical), keyUsage digitalSignature, keyCertSign and cRLSign (critical), and a
    /// subject key identifier, as AWS's root G1 has.
    /// </summary>
    /// <param name="timeProvider">The clock that sets the validity; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <returns>The new root; the caller disposes it.</returns>
    public static SimulatedNitroRoot Create(TimeProvider? timeProvider = null)
    {
        var notBefore = SimulatedCertificate.WholeSeconds((timeProvider ?? TimeProvider.System).GetUtcNow());
        var key = SimulatedCertificate.CreateKey();
        try
        {
            var certificate = SimulatedCertificate.Issue(
                SimulatedCertificate.Name(CommonName),
                key,
                issuer: null,
                notBefore,
                notBefore + Lifetime,
                SimulatedCertificate.RandomSerialNumber(16),
                new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true),
                new X509KeyUsageExtension(
                    X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
            return new SimulatedNitroRoot(certificate, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads a root saved with <see cref="ExportCertificatePem"/> and <see cref="ExportPrivateKeyPem"/>.</summary>
    /// <param name="certificatePem">The PEM certificate (<c>-----BEGIN CERTIFICATE-----</c>).</param>
    /// <param name="privateKeyPem">The PEM private key (PKCS#8 <c>PRIVATE KEY</c>, or SEC1 <c>EC PRIVATE KEY</c>).</param>
    /// <returns>The root; the caller disposes it.</returns>
    /// <exception cref="FormatException">
    /// A PEM does not decode, the certificate is not a P-384 CA certificate, or the key is not the certificate's.
    /// </exception>
    public static SimulatedNitroRoot ImportFromPem(ReadOnlySpan<char> certificatePem, ReadOnlySpan<char> privateKeyPem)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"simulated root certificate PEM: {ex.Message}", ex);
        }

        var key = SimulatedCertificate.CreateKey();
        try
        {
            try
            {
                key.ImportFromPem(privateKeyPem);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                throw new FormatException($"simulated root private key PEM: {ex.Message}", ex);
            }

            CheckIsP384CertificateAuthority(certificate, key);
            return new SimulatedNitroRoot(certificate, key);
        }
        catch
        {
            key.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The root certificate as PEM.</summary>
    /// <exception cref="ObjectDisposedException">The root has been disposed.</exception>
    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>The root's private key as unencrypted PKCS#8 PEM; whoever stores it must protect it (mode 0600).</summary>
    /// <exception cref="ObjectDisposedException">The root has been disposed.</exception>
    public string ExportPrivateKeyPem() => Key.ExportPkcs8PrivateKeyPem();

    /// <summary>Releases the key and the certificate.</summary>
    public void Dispose()
    {
        Key.Dispose();
        Certificate.Dispose();
    }

    private static void CheckIsP384CertificateAuthority(X509Certificate2 certificate, ECDsa key)
    {
        using var publicKey = certificate.GetECDsaPublicKey()
            ?? throw new FormatException("simulated root certificate PEM: the certificate's key is not an ECDSA key");
        if (publicKey.KeySize != 384)
        {
            throw new FormatException($"simulated root certificate PEM: the key is {publicKey.KeySize} bits, not P-384");
        }

        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            throw new FormatException("simulated root certificate PEM: the certificate is not a CA (basicConstraints)");
        }

        if (!publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new FormatException("simulated root private key PEM: the key does not belong to the certificate");
        }
    }
}

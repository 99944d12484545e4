using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Runtime.Provisioning;

/// <summary>
/// The pin a client holds for a provisioner: the SHA-256 of its TLS certificate's SubjectPublicKeyInfo (the form
/// <c>provisioning.pinned_sha256</c> and the credentials files write as 64 hex digits). A pin survives a re-issued
/// certificate with the same key and nothing else.
/// </summary>
public static class ProvisionerPin
{
    /// <summary>The pin's size in bytes.</summary>
    public const int Size = 32;

    /// <summary>The pin of a certificate.</summary>
    /// <param name="certificate">The provisioner's TLS certificate.</param>
    /// <returns>32 bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    public static byte[] Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Whether a certificate has the pinned key (compared in fixed time).</summary>
    /// <param name="certificate">The certificate the peer presented, or <see langword="null"/> when it presented none.</param>
    /// <param name="pin">The pin.</param>
    /// <returns><see langword="true"/> only for a certificate whose key is the pinned one.</returns>
    public static bool Matches(X509Certificate? certificate, ReadOnlySpan<byte> pin)
    {
        if (certificate is null || pin.Length != Size)
        {
            return false;
        }

        using var owned = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        return CryptographicOperations.FixedTimeEquals(Of(owned ?? (X509Certificate2)certificate), pin);
    }
}

using System.Net.Security;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The certificate every handshake without a nonce gets, with its TLS options built once: the
/// <see cref="SslStreamCertificateContext"/> (chain and OCSP work done up front) and the ALPN list are shared by every
/// connection it serves.
/// </summary>
internal sealed class BaseCertificate
{
    /// <summary>What ALPN offers, in order of preference.</summary>
    public static readonly List<SslApplicationProtocol> ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    public BaseCertificate(ServedCertificate served, DateTimeOffset rotateAt)
    {
        Served = served;
        RotateAt = rotateAt;
        // Kestrel fills in ALPN itself only when the list is null; ours is set, so these options are never written to.
        TlsOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = served.CreateContext(),
            ApplicationProtocols = ApplicationProtocols,
        };
    }

    public ServedCertificate Served { get; }

    /// <summary>When it is replaced.</summary>
    public DateTimeOffset RotateAt { get; }

    public SslServerAuthenticationOptions TlsOptions { get; }
}

using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Certificates;

/// <summary>How an attested server's TLS chain is judged, before its attestation document is.</summary>
public enum TlsChainTrustMode
{
    /// <summary>Standalone: the chain is the leaf alone, which must be self-signed and valid now; no hostname check (anyone can self-sign any name; PCRs and the key binding carry the trust).</summary>
    SelfSigned,

    /// <summary>
    /// CA mode (a provisioned deployment): the leaf must chain to one of the given authorities (custom root trust, never
    /// the system store) with serverAuth, every certificate of the chain must be valid now, the host and the leaf's DNS
    /// names must lie within every CA's <see cref="NameConstraints"/>, and the leaf must name the host.
    /// </summary>
    CertificateAuthority,

    /// <summary>
    /// The chain is not checked at all: the server is trusted only through the attestation document bound to its key
    /// (what Evervault's <c>ev enclave attest</c> does). For servers whose issuing CA you do not hold.
    /// </summary>
    KeyBindingOnly,
}

/// <summary>The trust placed in an attested server's TLS chain: <see cref="SelfSigned"/>, <see cref="IssuedBy"/> or <see cref="KeyBindingOnly"/>.</summary>
public sealed class TlsChainTrust
{
    private TlsChainTrust(TlsChainTrustMode mode, IReadOnlyList<X509Certificate2> authorities)
    {
        Mode = mode;
        Authorities = authorities;
    }

    /// <summary>Standalone mode: a self-signed leaf, valid now (see <see cref="TlsChainTrustMode.SelfSigned"/>).</summary>
    public static TlsChainTrust SelfSigned { get; } = new(TlsChainTrustMode.SelfSigned, []);

    /// <summary>No chain check (see <see cref="TlsChainTrustMode.KeyBindingOnly"/>).</summary>
    public static TlsChainTrust KeyBindingOnly { get; } = new(TlsChainTrustMode.KeyBindingOnly, []);

    /// <summary>Which mode.</summary>
    public TlsChainTrustMode Mode { get; }

    /// <summary>The trusted authorities (public copies) in <see cref="TlsChainTrustMode.CertificateAuthority"/> mode; empty otherwise.</summary>
    public IReadOnlyList<X509Certificate2> Authorities { get; }

    /// <summary>CA mode (see <see cref="TlsChainTrustMode.CertificateAuthority"/>): the chain must build to one of <paramref name="authorities"/>.</summary>
    /// <param name="authorities">The trusted CA certificates, normally the provisioner's root CA; copied (public part only), the caller keeps ownership.</param>
    /// <returns>The trust.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="authorities"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">There is no authority.</exception>
    public static TlsChainTrust IssuedBy(IEnumerable<X509Certificate2> authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        var copies = new List<X509Certificate2>();
        foreach (var authority in authorities)
        {
            ArgumentNullException.ThrowIfNull(authority, nameof(authorities));
            copies.Add(X509CertificateLoader.LoadCertificate(authority.RawData));
        }

        return copies.Count > 0
            ? new(TlsChainTrustMode.CertificateAuthority, copies)
            : throw new ArgumentException("CA mode needs at least one certificate authority", nameof(authorities));
    }

    /// <summary>The mode's name, and the authorities' subjects in CA mode.</summary>
    public override string ToString() =>
        Mode == TlsChainTrustMode.CertificateAuthority ? $"{Mode} ({string.Join("; ", Authorities.Select(a => a.Subject))})" : Mode.ToString();
}

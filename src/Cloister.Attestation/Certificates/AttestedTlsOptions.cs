using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Trust;
using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// What an <see cref="AttestedTlsVerifier"/> requires of an attested server. The verifier validates these when it is
/// constructed: a PCR policy is required unless <see cref="AuthenticityOnly"/> says, in so many words, that any enclave will do.
/// </summary>
public sealed class AttestedTlsOptions
{
    /// <summary>The default <see cref="CacheCapacity"/>.</summary>
    public const int DefaultCacheCapacity = 256;

    /// <summary>The PCR sets one of which the server's document must match. Required unless <see cref="AuthenticityOnly"/>.</summary>
    public PcrPolicy? Pcrs { get; init; }

    /// <summary>
    /// Accept any enclave whose document is authentic, bound to the key and fresh when asked: PCRs are NOT checked, so
    /// anyone who can run an enclave passes. For diagnostics (<c>cloister attest</c> without measurements); never set
    /// together with <see cref="Pcrs"/>.
    /// </summary>
    public bool AuthenticityOnly { get; init; }

    /// <summary>Whether a debug-mode document (PCR0 all zeros, whose measurements prove nothing) is acceptable; <see langword="false"/> by default.</summary>
    public bool AllowDebugMode { get; init; }

    /// <summary>
    /// The roots a document must chain to; <see langword="null"/> (the default) trusts only the AWS Nitro root G1
    /// (<see cref="NitroRoots.AwsG1"/>). The simulator's root is trusted only when listed here.
    /// </summary>
    public IReadOnlyList<X509Certificate2>? TrustedRoots { get; init; }

    /// <summary>
    /// How the served TLS chain is judged; <see cref="TlsChainTrust.SelfSigned"/> (standalone) by default. For a
    /// provisioned deployment, <see cref="TlsChainTrust.IssuedBy"/> the provisioner's root CA.
    /// </summary>
    public TlsChainTrust ChainTrust { get; init; } = TlsChainTrust.SelfSigned;

    /// <summary>The oldest a document may be (<see cref="AttestationFailure.DocumentTooOld"/>), or <see langword="null"/> to bound it only by its certificates.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>The clock for "now": the system clock by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How many verified certificates (without a nonce) are remembered by SHA-256 thumbprint and host; 0 disables the cache.</summary>
    public int CacheCapacity { get; init; } = DefaultCacheCapacity;
}

using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Trust;

namespace Cloister.Attestation.Verification;

/// <summary>
/// How an <see cref="AttestationVerifier"/> decides authenticity: which roots it trusts, what "now" is, and how old
/// a document may be. The verifier validates and copies these when it is constructed.
/// </summary>
public sealed class AttestationVerifierOptions
{
    /// <summary>The default <see cref="ClockSkew"/>: one minute.</summary>
    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>The default <see cref="ChainCacheCapacity"/>.</summary>
    public const int DefaultChainCacheCapacity = 1024;

    /// <summary>
    /// The roots a document's <c>cabundle[0]</c> must equal byte for byte; <see langword="null"/> (the default) trusts
    /// only the AWS Nitro Enclaves root G1 (<see cref="NitroRoots.AwsG1"/>). A simulated root is trusted only when it
    /// is listed here. The verifier copies the certificates; the caller keeps ownership of these instances.
    /// </summary>
    public IReadOnlyList<X509Certificate2>? TrustedRoots { get; init; }

    /// <summary>The clock for "now": the system clock by default; inject a fixed one to verify at a chosen time.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The oldest a document may be against now (<see cref="AttestationFailure.DocumentTooOld"/>), or
    /// <see langword="null"/> (the default) to bound it only by its certificates' validity.
    /// </summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>
    /// How far the verifier's clock may lag behind the NSM's: a timestamp up to this much in the future, and a chain
    /// that becomes valid up to this much after now, are accepted. Expiry is never stretched by it.
    /// </summary>
    public TimeSpan ClockSkew { get; init; } = DefaultClockSkew;

    /// <summary>
    /// How many verified chains (keyed by the SHA-256 of certificate and cabundle) are kept so that later documents
    /// of the same enclave cost one signature check instead of five; 0 disables the cache.
    /// </summary>
    public int ChainCacheCapacity { get; init; } = DefaultChainCacheCapacity;
}

using System.Security.Cryptography;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Trust;

namespace Cloister.Attestation.Verification;

/// <summary>
/// Verifies AWS Nitro Enclaves attestation documents: structure, certificate chain to a trusted root, validity
/// times, the ES384 signature, then an optional <see cref="AttestationPolicy"/> (DESIGN.md, "Verification order").
/// Failures are returned as a typed <see cref="AttestationFailure"/>, never thrown, except by
/// <see cref="VerifyOrThrow(ReadOnlySpan{byte}, AttestationPolicy?)"/>.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safe and meant to be shared: verified chains are cached (see
/// <see cref="AttestationVerifierOptions.ChainCacheCapacity"/>), so further documents from the same enclave cost one
/// signature check. Time checks are never cached: they are made for every document against the chain's window.
/// </para>
/// <para>
/// Order of the checks: decode (<see cref="AttestationFailure.Malformed"/>, <see cref="AttestationFailure.FieldTooLarge"/>);
/// algorithm ES384 and digest SHA384; chain <c>[certificate, cabundle[n-1], …, cabundle[0]]</c> with
/// <c>cabundle[0]</c> byte-equal to a trusted root; every certificate valid at the document's timestamp; every
/// certificate still valid at now (expiry is exact, a not-yet-valid chain gets the clock skew); timestamp not
/// beyond now plus skew; optional maximum age; the COSE signature; then the policy: PCR sets, debug mode, nonce,
/// user_data, public_key.
/// </para>
/// </remarks>
public sealed class AttestationVerifier
{
    private const string Sha384Digest = "SHA384";

    private readonly byte[][] _trustedRoots;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan? _maxAge;
    private readonly TimeSpan _clockSkew;
    private readonly VerifiedChainCache _chains;

    /// <summary>Creates a verifier.</summary>
    /// <param name="options">The trusted roots, clock and limits; <see langword="null"/> for the defaults (AWS root G1, system clock).</param>
    /// <exception cref="ArgumentException">
    /// The options are inconsistent: no trusted roots, a negative clock skew, a non-positive maximum age, or a
    /// negative cache capacity.
    /// </exception>
    /// <exception cref="ArgumentNullException">A trusted root or the time provider is <see langword="null"/>.</exception>
    /// <exception cref="CryptographicException">The embedded AWS root fails its fingerprint check.</exception>
    public AttestationVerifier(AttestationVerifierOptions? options = null)
    {
        options ??= new AttestationVerifierOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        if (options.TrustedRoots is { } roots)
        {
            if (roots.Count == 0)
            {
                throw new ArgumentException("at least one trusted root is required", nameof(options));
            }

            _trustedRoots = new byte[roots.Count][];
            for (var i = 0; i < roots.Count; i++)
            {
                ArgumentNullException.ThrowIfNull(roots[i], nameof(options));
                _trustedRoots[i] = roots[i].RawData;
            }
        }
        else
        {
            using var awsG1 = NitroRoots.AwsG1;
            _trustedRoots = [awsG1.RawData];
        }

        if (options.ClockSkew < TimeSpan.Zero)
        {
            throw new ArgumentException($"the clock skew {options.ClockSkew} is negative", nameof(options));
        }

        if (options.MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentException($"the maximum age {options.MaxAge} is not positive", nameof(options));
        }

        if (options.ChainCacheCapacity < 0)
        {
            throw new ArgumentException($"the chain cache capacity {options.ChainCacheCapacity} is negative", nameof(options));
        }

        _timeProvider = options.TimeProvider;
        _maxAge = options.MaxAge;
        _clockSkew = options.ClockSkew;
        _chains = new VerifiedChainCache(options.ChainCacheCapacity);
    }

    /// <summary>How many verified chains are cached now.</summary>
    internal int CachedChainCount => _chains.Count;

    /// <summary>Decodes and verifies a raw COSE_Sign1 attestation document.</summary>
    /// <param name="document">The raw document bytes.</param>
    /// <param name="policy">What to require beyond authenticity, or <see langword="null"/> to check authenticity only.</param>
    /// <returns>Success, or the first failed check with its detail.</returns>
    public AttestationVerificationResult Verify(ReadOnlySpan<byte> document, AttestationPolicy? policy = null)
    {
        SignedAttestationDocument decoded;
        try
        {
            decoded = AttestationDocumentDecoder.Decode(document);
        }
        catch (AttestationFieldTooLargeException ex)
        {
            return AttestationVerificationResult.Failed(AttestationFailure.FieldTooLarge, ex.Message);
        }
        catch (AttestationFormatException ex)
        {
            return AttestationVerificationResult.Failed(AttestationFailure.Malformed, ex.Message);
        }

        return Verify(decoded, policy);
    }

    /// <summary>Verifies an already decoded document.</summary>
    /// <param name="document">The decoded document.</param>
    /// <param name="policy">What to require beyond authenticity, or <see langword="null"/> to check authenticity only.</param>
    /// <returns>Success, or the first failed check with its detail.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="document"/> is <see langword="null"/>.</exception>
    public AttestationVerificationResult Verify(SignedAttestationDocument document, AttestationPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        var payload = document.Document;
        if (document.Algorithm != CoseSignature.Es384)
        {
            var named = document.Algorithm is { } algorithm ? $"alg {algorithm}" : "no alg";
            return AttestationVerificationResult.Failed(
                AttestationFailure.UnsupportedAlgorithm, $"cose.protected: {named}; attestation documents are signed with ES384 (-35)", document);
        }

        if (payload.Digest != Sha384Digest)
        {
            return AttestationVerificationResult.Failed(
                AttestationFailure.UnsupportedDigest, $"payload.digest: '{payload.Digest}'; Nitro PCRs are SHA384", document);
        }

        var now = _timeProvider.GetUtcNow();
        var key = ChainKey.Of(payload);
        var cached = true;
        if (!_chains.TryGet(key, out var chain))
        {
            var validation = ChainValidator.Validate(payload, _trustedRoots);
            if (validation.Chain is null)
            {
                return AttestationVerificationResult.Failed(validation.Failure, validation.Detail!, document);
            }

            (chain, cached) = _chains.Add(key, validation.Chain, now);
        }

        try
        {
            return CheckTimes(document, chain.Summary, now)
                ?? CheckSignature(document, chain)
                ?? CheckPolicy(document, chain.Summary, policy)
                ?? AttestationVerificationResult.Valid(document, chain.Summary);
        }
        finally
        {
            if (!cached)
            {
                chain.LeafKeys.Retire();
            }
        }
    }

    /// <summary>Decodes and verifies a raw document, throwing when it fails.</summary>
    /// <param name="document">The raw document bytes.</param>
    /// <param name="policy">What to require beyond authenticity, or <see langword="null"/> to check authenticity only.</param>
    /// <returns>The successful result, with the decoded document and chain.</returns>
    /// <exception cref="AttestationVerificationException">The document failed; the exception carries the result.</exception>
    public AttestationVerificationResult VerifyOrThrow(ReadOnlySpan<byte> document, AttestationPolicy? policy = null)
    {
        var result = Verify(document, policy);
        return result.IsValid ? result : throw new AttestationVerificationException(result);
    }

    private AttestationVerificationResult? CheckTimes(SignedAttestationDocument document, AttestationChain chain, DateTimeOffset now)
    {
        var timestamp = document.Document.Timestamp;
        var failure = AttestationFailure.None;
        string? detail = null;
        if (timestamp < chain.NotBefore)
        {
            (failure, detail) = (AttestationFailure.CertificateNotYetValid,
                $"at the document's timestamp {Format(timestamp)} '{chain.NotBeforeSubject}' is not valid before {Format(chain.NotBefore)}");
        }
        else if (timestamp > chain.NotAfter)
        {
            (failure, detail) = (AttestationFailure.CertificateExpired,
                $"at the document's timestamp {Format(timestamp)} '{chain.NotAfterSubject}' had expired ({Format(chain.NotAfter)})");
        }
        else if (now > chain.NotAfter)
        {
            (failure, detail) = (AttestationFailure.CertificateExpired,
                $"'{chain.NotAfterSubject}' expired at {Format(chain.NotAfter)}; now is {Format(now)}");
        }
        else if (now + _clockSkew < chain.NotBefore)
        {
            (failure, detail) = (AttestationFailure.CertificateNotYetValid,
                $"'{chain.NotBeforeSubject}' is not valid before {Format(chain.NotBefore)}; now is {Format(now)}");
        }
        else if (timestamp > now + _clockSkew)
        {
            (failure, detail) = (AttestationFailure.TimestampInFuture,
                $"payload.timestamp {Format(timestamp)} is after now ({Format(now)}) plus the allowed skew of {_clockSkew}");
        }
        else if (now - timestamp > _maxAge)
        {
            (failure, detail) = (AttestationFailure.DocumentTooOld,
                $"payload.timestamp {Format(timestamp)} is {now - timestamp} before now ({Format(now)}); the maximum age is {_maxAge}");
        }

        return failure == AttestationFailure.None ? null : AttestationVerificationResult.Failed(failure, detail!, document, chain);
    }

    private static AttestationVerificationResult? CheckSignature(SignedAttestationDocument document, VerifiedChain chain)
    {
        var signature = document.Signature.Span;
        if (signature.Length != CoseSignature.Es384SignatureLength)
        {
            return AttestationVerificationResult.Failed(
                AttestationFailure.BadSignature, $"cose.signature: {signature.Length} bytes; an ES384 signature is 96 (r‖s)", document, chain.Summary);
        }

        var key = chain.LeafKeys.Rent();
        bool verified;
        try
        {
            verified = CoseSignature.Verify(key, document.ProtectedHeader.Span, document.Payload.Span, signature);
        }
        finally
        {
            chain.LeafKeys.Return(key);
        }

        return verified
            ? null
            : AttestationVerificationResult.Failed(
                AttestationFailure.BadSignature, $"cose.signature: does not verify with the key of '{chain.Summary.LeafSubject}'", document, chain.Summary);
    }

    private static AttestationVerificationResult? CheckPolicy(SignedAttestationDocument document, AttestationChain chain, AttestationPolicy? policy)
    {
        if (policy is null)
        {
            return null;
        }

        var payload = document.Document;
        if (policy.Pcrs?.Match(payload.Pcrs) is { } mismatch)
        {
            return AttestationVerificationResult.Failed(AttestationFailure.PcrMismatch, mismatch.ToString(), document, chain, mismatch);
        }

        if (payload.IsDebugMode && !policy.AllowDebugMode)
        {
            return AttestationVerificationResult.Failed(
                AttestationFailure.DebugModeRefused, "the enclave ran in debug mode (PCR0 is all zeros) and the policy does not allow it", document, chain);
        }

        return Expect(policy.ExpectedNonce, payload.Nonce, AttestationFailure.NonceMismatch, AttestationDocumentKeys.Nonce, document, chain)
            ?? Expect(policy.ExpectedUserData, payload.UserData, AttestationFailure.UserDataMismatch, AttestationDocumentKeys.UserData, document, chain)
            ?? Expect(policy.ExpectedPublicKey, payload.PublicKey, AttestationFailure.PublicKeyMismatch, AttestationDocumentKeys.PublicKey, document, chain);
    }

    private static AttestationVerificationResult? Expect(
        byte[]? expected, byte[]? actual, AttestationFailure failure, string field, SignedAttestationDocument document, AttestationChain chain)
    {
        if (expected is null || (actual is not null && CryptographicOperations.FixedTimeEquals(expected, actual)))
        {
            return null;
        }

        var found = actual is null ? "absent (null)" : $"{actual.Length} bytes that differ";
        return AttestationVerificationResult.Failed(failure, $"payload.{field}: expected {expected.Length} bytes, found {found}", document, chain);
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

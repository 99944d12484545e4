using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// Attests a TLS server from its certificate, in DESIGN.md's order: the served chain (<see cref="TlsChainTrust"/>:
/// trust, validity and, in CA mode, name constraints) and, in CA mode, the hostname → the document embedded in the
/// certificate → the document's verification (chain to the attestation root, age, signature, PCR sets, debug mode) →
/// the key binding (user_data == the certificate's SubjectPublicKeyInfo) → the nonce. The first failed check is the
/// one reason reported.
/// </summary>
/// <remarks>
/// Thread-safe and meant to be shared by every connection of a client: a success without a nonce is cached by the
/// certificate's SHA-256 and the host until <see cref="AttestedTlsResult.ValidUntil"/>, so a pool of connections to a
/// server that serves one certificate costs one verification. A nonce verification neither reads nor fills the cache:
/// freshness is the point of asking.
/// </remarks>
public sealed class AttestedTlsVerifier
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const X509ChainStatusFlags TimeStatuses = X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested;
    private const X509ChainStatusFlags NameStatuses = X509ChainStatusFlags.InvalidNameConstraints | X509ChainStatusFlags.HasNotSupportedNameConstraint
        | X509ChainStatusFlags.HasNotDefinedNameConstraint | X509ChainStatusFlags.HasNotPermittedNameConstraint | X509ChainStatusFlags.HasExcludedNameConstraint;

    private readonly AttestationVerifier _documents;
    private readonly AttestationPolicy _policy;
    private readonly TlsChainTrust _chainTrust;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan? _maxAge;
    private readonly VerifiedCertificateCache _cache;

    /// <summary>Creates a verifier.</summary>
    /// <param name="options">What to require of servers.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, its chain trust, time provider or a trusted root is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// No PCR policy and no <see cref="AttestedTlsOptions.AuthenticityOnly"/>, or both; an empty root list, a
    /// non-positive maximum age or a negative cache capacity.
    /// </exception>
    /// <exception cref="CryptographicException">The embedded AWS root fails its fingerprint check.</exception>
    public AttestedTlsVerifier(AttestedTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ChainTrust, nameof(options));
        if (options.Pcrs is null && !options.AuthenticityOnly)
        {
            throw new ArgumentException(
                $"a PCR policy is required: without one any enclave passes; set {nameof(AttestedTlsOptions.AuthenticityOnly)} to accept that explicitly", nameof(options));
        }

        if (options.Pcrs is not null && options.AuthenticityOnly)
        {
            throw new ArgumentException($"{nameof(AttestedTlsOptions.AuthenticityOnly)} contradicts the PCR policy given", nameof(options));
        }

        if (options.CacheCapacity < 0)
        {
            throw new ArgumentException($"the cache capacity {options.CacheCapacity} is negative", nameof(options));
        }

        _documents = new AttestationVerifier(new AttestationVerifierOptions
        {
            TrustedRoots = options.TrustedRoots,
            TimeProvider = options.TimeProvider,
            MaxAge = options.MaxAge,
        });
        _policy = new AttestationPolicy { Pcrs = options.Pcrs, AllowDebugMode = options.AllowDebugMode };
        _chainTrust = options.ChainTrust;
        _timeProvider = options.TimeProvider;
        _maxAge = options.MaxAge;
        _cache = new VerifiedCertificateCache(options.CacheCapacity);
    }

    /// <summary>How the served chain is judged.</summary>
    public TlsChainTrust ChainTrust => _chainTrust;

    /// <summary>How many verified certificates are cached now.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Attests a server from the certificate it served, whose SAN carries the document.</summary>
    /// <param name="certificate">The server's leaf certificate.</param>
    /// <param name="intermediates">The other certificates the server sent (used in CA mode), or <see langword="null"/>.</param>
    /// <param name="host">The host the client asked for (the base name, not a nonce server name).</param>
    /// <param name="expectedNonce">The nonce the document must carry, or <see langword="null"/> when freshness is not asked for (the cache may then answer).</param>
    /// <returns>Success with the document, or the first failed check.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> or <paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty.</exception>
    public AttestedTlsResult Verify(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates, string host, byte[]? expectedNonce = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(host);
        var thumbprint = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        if (expectedNonce is null && _cache.Get(thumbprint, host, _timeProvider.GetUtcNow()) is { } cached)
        {
            return cached.AsCached();
        }

        var result = VerifyCore(certificate, thumbprint, intermediates, host, document: null, expectedNonce);
        if (result.IsValid && expectedNonce is null)
        {
            _cache.Add(host, result, _timeProvider.GetUtcNow());
        }

        return result;
    }

    /// <summary>
    /// Attests a server from its certificate and a document obtained separately over the same connection (as
    /// <c>GET /.well-known/attestation</c> serves it): the same checks, with <paramref name="document"/> in place of the
    /// SAN's. Never cached.
    /// </summary>
    /// <param name="certificate">The server's leaf certificate on the connection the document came over.</param>
    /// <param name="intermediates">The other certificates the server sent (used in CA mode), or <see langword="null"/>.</param>
    /// <param name="host">The host the client asked for.</param>
    /// <param name="document">The raw COSE_Sign1 document.</param>
    /// <param name="expectedNonce">The nonce the document must carry, or <see langword="null"/>.</param>
    /// <returns>Success with the document, or the first failed check.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> or <paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty.</exception>
    public AttestedTlsResult VerifyDocument(
        X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates, string host, ReadOnlySpan<byte> document, byte[]? expectedNonce = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(host);
        var thumbprint = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        return VerifyCore(certificate, thumbprint, intermediates, host, document.ToArray(), expectedNonce);
    }

    private AttestedTlsResult VerifyCore(
        X509Certificate2 certificate, string thumbprint, IEnumerable<X509Certificate2>? intermediates, string host, byte[]? document, byte[]? nonce)
    {
        var now = _timeProvider.GetUtcNow();
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        AttestedTlsResult Fail(AttestedTlsFailure failure, string detail, AttestationVerificationResult? verification = null) =>
            AttestedTlsResult.Failed(failure, detail, thumbprint, notAfter, verification, nonce);

        var (chainFailure, chainDetail, chainNotAfter) = CheckChain(certificate, intermediates, host, now);
        if (chainFailure != AttestedTlsFailure.None)
        {
            return Fail(chainFailure, chainDetail!);
        }

        if (document is null && !AttestedCertificate.TryGetDocument(certificate, out document))
        {
            return Fail(AttestedTlsFailure.NotAttested, $"'{certificate.Subject}' carries no attestation document in its subjectAltName");
        }

        var verification = _documents.Verify(document, _policy);
        if (!verification.IsValid)
        {
            return Fail(AttestedTlsFailure.DocumentInvalid, verification.Detail!, verification);
        }

        var payload = verification.Document!.Document;
        var binding = AttestedCertificate.GetKeyBinding(certificate);
        if (payload.UserData is null || !CryptographicOperations.FixedTimeEquals(payload.UserData, binding))
        {
            var found = payload.UserData is null ? "no user_data" : $"user_data of {payload.UserData.Length} bytes";
            return Fail(
                AttestedTlsFailure.KeyBindingMismatch,
                $"the document's {found} is not the {binding.Length}-byte SubjectPublicKeyInfo of '{certificate.Subject}': the document belongs to another key",
                verification);
        }

        if (nonce is not null && (payload.Nonce is null || !CryptographicOperations.FixedTimeEquals(payload.Nonce, nonce)))
        {
            var found = payload.Nonce is null ? "no nonce" : $"a {payload.Nonce.Length}-byte nonce that differs";
            return Fail(AttestedTlsFailure.NonceMismatch, $"the client sent a {nonce.Length}-byte nonce; the document carries {found}", verification);
        }

        var validUntil = verification.Chain!.NotAfter;
        if (_maxAge is { } maxAge && payload.Timestamp + maxAge < validUntil)
        {
            validUntil = payload.Timestamp + maxAge;
        }

        if (chainNotAfter < validUntil)
        {
            validUntil = chainNotAfter;
        }

        return AttestedTlsResult.Valid(thumbprint, notAfter, verification, nonce, validUntil);
    }

    private (AttestedTlsFailure Failure, string? Detail, DateTimeOffset NotAfter) CheckChain(
        X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates, string host, DateTimeOffset now)
    {
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        switch (_chainTrust.Mode)
        {
            case TlsChainTrustMode.KeyBindingOnly:
                return (AttestedTlsFailure.None, null, DateTimeOffset.MaxValue);

            case TlsChainTrustMode.SelfSigned:
                if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
                {
                    return (AttestedTlsFailure.CertificateChainInvalid,
                        $"'{certificate.Subject}' is issued by '{certificate.Issuer}', not self-signed (standalone mode trusts no CA)", notAfter);
                }

                if (CertificateSignature.Check(certificate.RawData, certificate) is { } badSignature)
                {
                    return (AttestedTlsFailure.CertificateChainInvalid, $"'{certificate.Subject}' is not signed by its own key: {badSignature}", notAfter);
                }

                return OutsideValidity(certificate, "the leaf", now) is { } expired
                    ? (AttestedTlsFailure.CertificateNotTimeValid, expired, notAfter)
                    : (AttestedTlsFailure.None, null, notAfter);

            default:
                return CheckIssuedChain(certificate, intermediates, host, now);
        }
    }

    private (AttestedTlsFailure Failure, string? Detail, DateTimeOffset NotAfter) CheckIssuedChain(
        X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates, string host, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_chainTrust.Authorities.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthOid));
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        }

        // The platform's verdict is sorted so that each check has its own failure: anything but time and names means
        // the path to a trusted root is not there; time and names are then checked here as well, naming the certificate,
        // and whatever the platform still reports that these checks missed fails closed.
        var built = chain.Build(certificate);
        var statuses = chain.ChainStatus;
        var notTrusted = statuses.Where(s => (s.Status & ~(TimeStatuses | NameStatuses)) != 0).ToList();
        if (!built && (notTrusted.Count > 0 || statuses.Length == 0))
        {
            return (AttestedTlsFailure.CertificateChainInvalid,
                $"'{certificate.Subject}' does not chain to a trusted CA: {Describe(notTrusted.Count > 0 ? notTrusted : statuses)}", DateTimeOffset.MinValue);
        }

        var path = chain.ChainElements.Select(e => e.Certificate).ToList();
        var notAfter = path.Min(c => new DateTimeOffset(c.NotAfter.ToUniversalTime()));
        // From the root down: an expired CA is the cause, the leaf it bounds expiring with it the consequence.
        for (var i = path.Count - 1; i >= 0; i--)
        {
            if (OutsideValidity(path[i], Role(i, path.Count), now) is { } expired)
            {
                return (AttestedTlsFailure.CertificateNotTimeValid, expired, notAfter);
            }
        }

        if (statuses.Where(s => (s.Status & TimeStatuses) != 0).ToList() is { Count: > 0 } timeProblems)
        {
            return (AttestedTlsFailure.CertificateNotTimeValid, $"the chain of '{certificate.Subject}' at {now:O}: {Describe(timeProblems)}", notAfter);
        }

        if (CheckNameConstraints(path, host) is { Failure: not AttestedTlsFailure.None } names)
        {
            return (names.Failure, names.Detail, notAfter);
        }

        if (statuses.Where(s => (s.Status & NameStatuses) != 0).ToList() is { Count: > 0 } nameProblems)
        {
            return (AttestedTlsFailure.NameConstraintViolation, $"the platform's chain validation refuses the names of '{certificate.Subject}': {Describe(nameProblems)}", notAfter);
        }

        return certificate.MatchesHostname(host, allowWildcards: true, allowCommonName: false)
            ? (AttestedTlsFailure.None, null, notAfter)
            : (AttestedTlsFailure.HostnameMismatch,
                $"'{certificate.Subject}' names {string.Join(", ", AttestedCertificate.GetHostnames(certificate))}, not '{host}'", notAfter);
    }

    /// <summary>
    /// RFC 5280 §4.2.1.10 for dNSName, enforced here whatever the platform does: every CA's constraints (the root's
    /// too) bound the host asked for and the DNS names of each certificate below that CA (the leaf's attested entry
    /// included; a self-issued intermediate's names are exempt, as RFC 5280 says). Under a constrained CA, a name the
    /// constraints cannot bound (an IP address asked for, a SAN of another form) fails closed.
    /// </summary>
    private static (AttestedTlsFailure Failure, string? Detail) CheckNameConstraints(List<X509Certificate2> path, string host)
    {
        for (var ca = 1; ca < path.Count; ca++)
        {
            NameConstraints? constraints;
            try
            {
                constraints = NameConstraints.Find(path[ca]);
            }
            catch (CryptographicException ex)
            {
                return (AttestedTlsFailure.NameConstraintsUnsupported, $"'{path[ca].Subject}' ({Role(ca, path.Count)}): {ex.Message}");
            }

            if (constraints is null)
            {
                continue;
            }

            var constrainedBy = $"the name constraints of '{path[ca].Subject}' ({Role(ca, path.Count)})";
            if (IPAddress.TryParse(host.Trim('[', ']'), out _))
            {
                return (AttestedTlsFailure.NameConstraintViolation, $"host: '{host}' is an IP address, which {constrainedBy} on DNS names cannot bound");
            }

            if (constraints.Check(host) is { } hostViolation)
            {
                return (AttestedTlsFailure.NameConstraintViolation, $"host: {hostViolation}: {constrainedBy}");
            }

            for (var below = 0; below < ca; below++)
            {
                if (below > 0 && path[below].SubjectName.RawData.AsSpan().SequenceEqual(path[below].IssuerName.RawData))
                {
                    continue;
                }

                var field = $"subjectAltName of '{path[below].Subject}' ({Role(below, path.Count)})";
                List<string> dnsNames;
                Asn1Tag? otherForm;
                try
                {
                    (dnsNames, otherForm) = AttestedCertificate.ReadSubjectAltNames(path[below]);
                }
                catch (CryptographicException ex)
                {
                    return (AttestedTlsFailure.NameConstraintViolation, $"{field}: {ex.Message}, so {constrainedBy} cannot be checked");
                }

                if (otherForm is { } tag)
                {
                    return (AttestedTlsFailure.NameConstraintViolation,
                        $"{field}: a name of another form than dNSName ({NameConstraints.FormName(tag)}), which {constrainedBy} cannot bound");
                }

                foreach (var name in dnsNames)
                {
                    if (constraints.Check(name) is { } violation)
                    {
                        return (AttestedTlsFailure.NameConstraintViolation, $"{field}: {violation}: {constrainedBy}");
                    }
                }
            }
        }

        return (AttestedTlsFailure.None, null);
    }

    private static string? OutsideValidity(X509Certificate2 certificate, string role, DateTimeOffset now)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        return now < notBefore || now > notAfter
            ? $"'{certificate.Subject}' ({role}) is valid {notBefore:O} .. {notAfter:O}; now is {now:O}"
            : null;
    }

    private static string Role(int index, int count) => index == 0 ? "the leaf" : index == count - 1 ? "the root" : "an intermediate";

    private static string Describe(IEnumerable<X509ChainStatus> statuses) =>
        string.Join("; ", statuses.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}").Distinct());
}

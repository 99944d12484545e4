using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Attestation.Verification;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Certificates;

/// <summary>
/// The verifier on its own, without a network: option rules, the standalone chain rules, the cache and the real
/// Evervault certificates. The attacks over real TLS connections are in Cloister.Client.Tests.
/// </summary>
public sealed class AttestedTlsVerifierTests : IClassFixture<SimulatedRootFixture>, IDisposable
{
    private const string Host = "localhost";

    private readonly SimulatedNitroRoot _root;
    private readonly FakeTimeProvider _time = new(TestEnclave.Start);
    private readonly TestEnclave _enclave;

    public AttestedTlsVerifierTests(SimulatedRootFixture fixture)
    {
        _root = fixture.Root;
        _enclave = new TestEnclave(_root, _time);
    }

    [Fact]
    public void An_enclave_certificate_verifies_and_holds_until_its_own_expiry()
    {
        using var certificate = _enclave.Certificate();

        var result = Verifier().Verify(certificate, null, Host);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(AttestationFailure.None, result.DocumentFailure);
        Assert.Equal(_enclave.ModuleId, result.Document!.ModuleId);
        Assert.Equal(AttestedCertificate.GetKeyBinding(certificate), result.Document.UserData);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(certificate.RawData)), result.CertificateThumbprint);
        Assert.Null(result.Nonce);
        Assert.False(result.FromCache);
        // The certificate (2 h) expires before the document's signing certificate (3 h).
        Assert.Equal(new DateTimeOffset(certificate.NotAfter.ToUniversalTime()), result.ValidUntil);
    }

    [Fact]
    public void A_pcr_policy_is_required_unless_authenticity_only_is_named()
    {
        Assert.Throws<ArgumentException>(() => new AttestedTlsVerifier(new AttestedTlsOptions()));
        Assert.Throws<ArgumentException>(() => new AttestedTlsVerifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, AuthenticityOnly = true }));
        Assert.Throws<ArgumentException>(() => new AttestedTlsVerifier(new AttestedTlsOptions { Pcrs = new PcrPolicy([]) }));
        Assert.Throws<ArgumentException>(() => Verifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, CacheCapacity = -1 }));
        Assert.Throws<ArgumentException>(() => Verifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, MaxAge = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => TlsChainTrust.IssuedBy([]));
        Assert.Throws<ArgumentNullException>(() => Verifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, ChainTrust = null! }));
    }

    [Fact]
    public void Authenticity_only_accepts_any_enclave_but_still_binds_the_key()
    {
        using var other = new TestEnclave(_root, _time);
        using var certificate = other.Certificate();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forged = other.Certificate(key, other.Attest(RandomNumberGenerator.GetBytes(91)));
        var verifier = Verifier(new AttestedTlsOptions { AuthenticityOnly = true, TrustedRoots = [_root.Certificate], TimeProvider = _time });

        Assert.True(verifier.Verify(certificate, null, Host).IsValid);
        Assert.Equal(AttestedTlsFailure.KeyBindingMismatch, verifier.Verify(forged, null, Host).Failure);
    }

    [Fact]
    public void A_certificate_issued_by_a_ca_is_not_standalone()
    {
        using var ca = TestCertificateAuthority.Create("CN=some ca", _time.GetUtcNow());
        using var certificate = _enclave.Certificate(issuer: ca.Certificate);

        var result = Verifier().Verify(certificate, null, Host);

        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, result.Failure);
        Assert.Contains("not self-signed", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_self_named_certificate_signed_by_another_key_is_not_self_signed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var genuine = _enclave.Certificate(key, _enclave.Attest(key));
        var request = new CertificateRequest(genuine.SubjectName, key, HashAlgorithmName.SHA256);
        foreach (var extension in genuine.Extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        using var certificate = request.Create(genuine.SubjectName, X509SignatureGenerator.CreateForECDsa(signer), genuine.NotBefore, genuine.NotAfter, [7]);

        var result = Verifier().Verify(certificate, null, Host);

        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, result.Failure);
        Assert.Contains("not signed by its own key", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_tls_certificate_fails_the_chain_before_its_document_is_read()
    {
        using var certificate = _enclave.Certificate(lifetime: TimeSpan.FromMinutes(30));
        var verifier = Verifier();
        _time.Advance(TimeSpan.FromMinutes(31));

        var result = verifier.Verify(certificate, null, Host);

        Assert.Equal(AttestedTlsFailure.CertificateNotTimeValid, result.Failure);
        Assert.Contains("(the leaf) is valid", result.Detail, StringComparison.Ordinal);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public void A_verified_certificate_is_answered_from_the_cache_until_the_maximum_age_passes()
    {
        using var certificate = _enclave.Certificate();
        var verifier = Verifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, TrustedRoots = [_root.Certificate], TimeProvider = _time, MaxAge = TimeSpan.FromMinutes(10) });

        var first = verifier.Verify(certificate, null, Host);
        _time.Advance(TimeSpan.FromMinutes(9));
        var second = verifier.Verify(certificate, null, Host);
        var otherHost = verifier.Verify(certificate, null, "127.0.0.1");
        _time.Advance(TimeSpan.FromMinutes(2));
        var third = verifier.Verify(certificate, null, Host);

        Assert.True(first.IsValid && !first.FromCache, first.ToString());
        Assert.True(second.IsValid && second.FromCache, second.ToString());
        Assert.Same(first.Document, second.Document);
        Assert.False(otherHost.FromCache);
        Assert.Equal(AttestedTlsFailure.DocumentInvalid, third.Failure);
        Assert.Equal(AttestationFailure.DocumentTooOld, third.DocumentFailure);
        Assert.False(third.FromCache);
    }

    [Fact]
    public void A_nonce_verification_neither_reads_nor_fills_the_cache()
    {
        var nonce = RandomNumberGenerator.GetBytes(32);
        using var certificate = _enclave.Certificate(nonce);
        var verifier = Verifier();

        var fresh = verifier.Verify(certificate, null, Host, nonce);
        var cachedBefore = verifier.CachedCount;
        var plain = verifier.Verify(certificate, null, Host);
        var freshAgain = verifier.Verify(certificate, null, Host, nonce);

        Assert.True(fresh.IsValid, fresh.ToString());
        Assert.Equal(nonce, fresh.Nonce);
        Assert.Equal(0, cachedBefore);
        Assert.False(plain.FromCache);
        Assert.True(freshAgain.IsValid);
        Assert.False(freshAgain.FromCache);
    }

    [Fact]
    public void The_cache_is_bounded_by_its_capacity()
    {
        var verifier = Verifier(new AttestedTlsOptions { Pcrs = _enclave.Policy, TrustedRoots = [_root.Certificate], TimeProvider = _time, CacheCapacity = 2 });
        var certificates = Enumerable.Range(0, 3).Select(_ => _enclave.Certificate()).ToList();

        foreach (var certificate in certificates)
        {
            Assert.True(verifier.Verify(certificate, null, Host).IsValid);
        }

        Assert.Equal(2, verifier.CachedCount);
        certificates.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task Concurrent_verifications_of_one_certificate_all_pass_and_share_one_entry()
    {
        using var certificate = _enclave.Certificate();
        var verifier = Verifier();
        using var start = new Barrier(4);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 25).Select(_ => verifier.Verify(certificate, null, Host)).ToList();
        })));

        Assert.All(results.SelectMany(r => r), result => Assert.True(result.IsValid, result.ToString()));
        Assert.Contains(results.SelectMany(r => r), result => result.FromCache);
        Assert.Equal(1, verifier.CachedCount);
    }

    [Fact]
    public void A_failure_is_not_cached()
    {
        using var stranger = new TestEnclave(_root, _time);
        using var certificate = stranger.Certificate();
        var verifier = Verifier();

        Assert.Equal(AttestationFailure.PcrMismatch, verifier.Verify(certificate, null, Host).DocumentFailure);
        Assert.Equal(0, verifier.CachedCount);
    }

    [Theory]
    [InlineData("evervault_2022-11-16_cert_debug")]
    [InlineData("evervault_2023-01-18_cert_debug")]
    [InlineData("evervault_2023-01-18_cert_prod")]
    [InlineData("evervault_2023-09-06_cert_debug")]
    [InlineData("evervault_2023-09-06_pycert_debug")]
    public void Evervault_beta_certificates_bind_their_document_at_its_pin_time(string name)
    {
        var vector = AttestationVectors.Get(name + ".cbor");
        using var certificate = LoadCertificate(name);
        var verifier = EvervaultVerifier(vector, TlsChainTrust.KeyBindingOnly);

        var result = verifier.Verify(certificate, null, "cages.evervault.com");

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(vector.ModuleId, result.Document!.ModuleId);
        Assert.Equal(vector.Pcrs[0], result.Document.Pcrs[0]);
        // Evervault's RSA intermediate is not in the vectors: as a standalone server the certificate is refused.
        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, EvervaultVerifier(vector, TlsChainTrust.SelfSigned).Verify(certificate, null, "h").Failure);
    }

    [Theory]
    [InlineData("evervault_2023-09-07_ga_debug", "evervault_2023-09-07_ga_debug", AttestedTlsFailure.None)]
    [InlineData("evervault_2023-09-18_ga_debug", "evervault_2023-09-18_ga_debug", AttestedTlsFailure.None)]
    [InlineData("evervault_2023-09-22_ga_debug", "evervault_2023-09-18_ga_debug", AttestedTlsFailure.None)]
    [InlineData("evervault_2023-09-18_ga_debug", "evervault_2023-09-07_ga_debug", AttestedTlsFailure.KeyBindingMismatch)]
    [InlineData("evervault_2023-09-07_ga_debug", "evervault_2023-09-18_ga_debug", AttestedTlsFailure.KeyBindingMismatch)]
    public void Evervault_ga_documents_bind_only_their_own_certificate(string document, string certificateName, AttestedTlsFailure expected)
    {
        var vector = AttestationVectors.Get(document + ".cbor");
        using var certificate = LoadCertificate(certificateName);

        var result = EvervaultVerifier(vector, TlsChainTrust.KeyBindingOnly).VerifyDocument(certificate, null, "evervault.dev", vector.Read());

        Assert.Equal(expected, result.Failure);
        Assert.Equal(AttestationFailure.None, result.DocumentFailure);
    }

    [Fact]
    public void The_real_production_certificate_meets_its_pcrs_and_refuses_others()
    {
        var vector = AttestationVectors.Get("evervault_2023-01-18_cert_prod.cbor");
        using var certificate = LoadCertificate("evervault_2023-01-18_cert_prod");
        var wrong = vector.Pcrs.Where(p => p.Key is 0 or 1 or 2 or 8).ToDictionary(p => p.Key, p => p.Value);
        wrong[8] = wrong[1];
        var options = (PcrPolicy pcrs) => new AttestedTlsOptions
        {
            Pcrs = pcrs,
            ChainTrust = TlsChainTrust.KeyBindingOnly,
            TimeProvider = new FakeTimeProvider(vector.PinTime),
        };

        var right = new AttestedTlsVerifier(options(PcrPolicy.Exactly(vector.Pcrs.Where(p => p.Key is 0 or 1 or 2 or 8).ToDictionary()))).Verify(certificate, null, "h");
        var refused = new AttestedTlsVerifier(options(PcrPolicy.Exactly(wrong))).Verify(certificate, null, "h");

        Assert.True(right.IsValid, right.ToString());
        Assert.Equal(AttestationFailure.PcrMismatch, refused.DocumentFailure);
        Assert.Equal(8, refused.DocumentVerification!.PcrMismatch!.Index);
    }

    public void Dispose() => _enclave.Dispose();

    private AttestedTlsVerifier Verifier(AttestedTlsOptions? options = null) =>
        new(options ?? new AttestedTlsOptions { Pcrs = _enclave.Policy, TrustedRoots = [_root.Certificate], TimeProvider = _time });

    private static AttestedTlsVerifier EvervaultVerifier(AttestationVector vector, TlsChainTrust trust) => new(new AttestedTlsOptions
    {
        AuthenticityOnly = true,
        AllowDebugMode = true,
        ChainTrust = trust,
        TimeProvider = new FakeTimeProvider(vector.PinTime),
    });

    private static X509Certificate2 LoadCertificate(string name) =>
        X509CertificateLoader.LoadCertificateFromFile(RepositoryPaths.Vector("attestation", "certs", name + ".tls.der"));
}

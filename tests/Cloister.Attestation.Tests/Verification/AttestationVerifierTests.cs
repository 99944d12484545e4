using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Verification;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Verification;

public sealed class AttestationVerifierTests
{
    public static TheoryData<string> ValidRealDocuments => [.. AttestationVectors.Real.Where(v => !v.HasBadSignature).Select(v => Path.GetFileName(v.File))];

    public static TheoryData<string> RealDocuments => [.. AttestationVectors.Real.Select(v => Path.GetFileName(v.File))];

    public static TheoryData<string> MockRootDocuments => [.. AttestationVectors.MockRoot.Select(v => Path.GetFileName(v.File))];

    [Fact]
    public void The_vectors_are_31_real_documents_one_with_a_bad_signature()
    {
        Assert.Equal(31, AttestationVectors.Real.Count);
        Assert.Single(AttestationVectors.Real, v => v.HasBadSignature);
    }

    [Theory]
    [MemberData(nameof(ValidRealDocuments))]
    public void Real_documents_verify_at_their_pin_time_with_the_manifest_values(string file)
    {
        var vector = AttestationVectors.Get(file);

        var result = Verifiers.At(vector.PinTime).Verify(vector.Read());

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(AttestationFailure.None, result.Failure);
        Assert.Null(result.Detail);
        var document = result.Document!.Document;
        Assert.Equal(vector.Pcrs.OrderBy(p => p.Key), document.Pcrs.OrderBy(p => p.Key));
        Assert.Equal(vector.Nonce, document.Nonce);
        Assert.Equal(vector.UserData, document.UserData);
        Assert.Equal(vector.PublicKey, document.PublicKey);
        Assert.Equal(vector.IsDebug, result.IsDebugMode);
        Assert.Equal(vector.ChainNotAfter, result.Chain!.NotAfter);
        Assert.Equal("CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US", result.Chain.RootSubject);
        Assert.Equal(5, result.Chain.Length);
    }

    [Fact]
    public void The_bad_signature_document_fails_on_its_signature_after_its_chain_passed()
    {
        var vector = AttestationVectors.Get("eternis_2024-07-23_debug_BADSIG.cbor");

        var result = Verifiers.At(vector.PinTime).Verify(vector.Read());

        Assert.Equal(AttestationFailure.BadSignature, result.Failure);
        Assert.NotNull(result.Chain);
        Assert.Contains("cose.signature", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RealDocuments))]
    public void Real_documents_have_expired_today(string file)
    {
        var result = Verifiers.At(Verifiers.Today).Verify(AttestationVectors.Get(file).Read());

        Assert.Equal(AttestationFailure.CertificateExpired, result.Failure);
        Assert.Contains("now is 2026-11-24T00:00:00.000Z", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RealDocuments))]
    public void Real_documents_have_expired_one_second_after_their_chain_window(string file)
    {
        var vector = AttestationVectors.Get(file);

        var atEnd = Verifiers.At(vector.ChainNotAfter).Verify(vector.Read());
        var after = Verifiers.At(vector.ChainNotAfter.AddSeconds(1)).Verify(vector.Read());

        Assert.NotEqual(AttestationFailure.CertificateExpired, atEnd.Failure);
        Assert.Equal(AttestationFailure.CertificateExpired, after.Failure);
    }

    [Theory]
    [MemberData(nameof(MockRootDocuments))]
    public void Mock_root_documents_are_untrusted_by_default_and_valid_under_their_root(string file)
    {
        var vector = AttestationVectors.Get(file);
        using var mockRoot = Verifiers.LoadPem(AttestationVectors.MockRootPemPath);

        var byDefault = Verifiers.At(vector.PinTime).Verify(vector.Read());
        var underMockRoot = Verifiers.At(vector.PinTime, mockRoot).Verify(vector.Read());

        Assert.Equal(AttestationFailure.UntrustedRoot, byDefault.Failure);
        Assert.Contains("CN=root", byDefault.Detail, StringComparison.Ordinal);
        Assert.True(underMockRoot.IsValid, underMockRoot.ToString());
        Assert.Equal(vector.UserData, underMockRoot.Document!.Document.UserData);
    }

    [Fact]
    public void Trusting_another_root_stops_trusting_aws()
    {
        var vector = AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor");
        using var mockRoot = Verifiers.LoadPem(AttestationVectors.MockRootPemPath);

        var result = Verifiers.At(vector.PinTime, mockRoot).Verify(vector.Read());

        Assert.Equal(AttestationFailure.UntrustedRoot, result.Failure);
    }

    [Fact]
    public void The_signature_check_agrees_with_the_bcl_cose_implementation()
    {
        foreach (var vector in AttestationVectors.Real)
        {
            var bytes = vector.Read();
            var leaf = AttestationDocumentDecoder.Decode(bytes).Document.Certificate;
            using var certificate = X509CertificateLoader.LoadCertificate(leaf);
            using var key = certificate.GetECDsaPublicKey()!;

            var bcl = CoseSign1Message.DecodeSign1(bytes).VerifyEmbedded(key);
            var ours = Verifiers.At(vector.PinTime).Verify(bytes).Failure != AttestationFailure.BadSignature;

            Assert.Equal(bcl, ours);
            Assert.Equal(!vector.HasBadSignature, ours);
        }
    }

    [Fact]
    public void A_cached_chain_still_has_its_times_checked_on_every_call()
    {
        var vector = AttestationVectors.Get("oyster_2024-08-07_prod.cbor");
        var clock = new FakeTimeProvider(vector.PinTime);
        var verifier = new AttestationVerifier(new AttestationVerifierOptions { TimeProvider = clock });

        var first = verifier.Verify(vector.Read());
        var second = verifier.Verify(vector.Read());
        clock.SetUtcNow(vector.ChainNotAfter.AddSeconds(1));
        var later = verifier.Verify(vector.Read());

        Assert.True(first.IsValid, first.ToString());
        Assert.True(second.IsValid, second.ToString());
        Assert.Same(first.Chain, second.Chain);
        Assert.Equal(AttestationFailure.CertificateExpired, later.Failure);
    }

    [Fact]
    public void Two_documents_of_one_leaf_share_a_cached_chain_but_are_each_signature_checked()
    {
        var one = AttestationVectors.Get("oyster_2024-08-07_prod.cbor");
        var two = AttestationVectors.Get("oyster_2024-08-07_prod_2.cbor");
        var verifier = Verifiers.At(two.PinTime);
        var tampered = two.Read();
        tampered[^1] ^= 0x01;

        var first = verifier.Verify(one.Read());
        var second = verifier.Verify(two.Read());
        var third = verifier.Verify(tampered);

        Assert.True(first.IsValid && second.IsValid, $"{first} / {second}");
        Assert.Same(first.Chain, second.Chain);
        Assert.Equal(1, verifier.CachedChainCount);
        Assert.Equal(AttestationFailure.BadSignature, third.Failure);
    }

    [Fact]
    public void The_chain_cache_is_bounded()
    {
        var clock = new FakeTimeProvider();
        var verifier = new AttestationVerifier(new AttestationVerifierOptions { TimeProvider = clock, ChainCacheCapacity = 2 });

        foreach (var vector in AttestationVectors.Real.Where(v => !v.HasBadSignature).OrderBy(v => v.PinTime).Take(6))
        {
            clock.SetUtcNow(vector.PinTime);
            Assert.True(verifier.Verify(vector.Read()).IsValid);
            Assert.InRange(verifier.CachedChainCount, 1, 2);
        }
    }

    [Fact]
    public void Without_a_cache_every_call_verifies_the_chain_again()
    {
        var vector = AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor");
        var verifier = new AttestationVerifier(new AttestationVerifierOptions { TimeProvider = new FakeTimeProvider(vector.PinTime), ChainCacheCapacity = 0 });

        var first = verifier.Verify(vector.Read());
        var second = verifier.Verify(vector.Read());

        Assert.True(first.IsValid && second.IsValid);
        Assert.NotSame(first.Chain, second.Chain);
        Assert.Equal(0, verifier.CachedChainCount);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(1)]
    public void Concurrent_verifications_agree_even_while_the_cache_evicts(int capacity)
    {
        using var mockRoot = Verifiers.LoadPem(AttestationVectors.MockRootPemPath);
        var documents = AttestationVectors.MockRoot.Select(v => v.Read()).ToArray();
        var tampered = documents[0].ToArray();
        tampered[^1] ^= 0x80;
        var verifier = new AttestationVerifier(new AttestationVerifierOptions
        {
            TrustedRoots = [mockRoot],
            TimeProvider = new FakeTimeProvider(new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero)),
            ChainCacheCapacity = capacity,
        });

        var failures = 0;
        Parallel.For(0, 300, i =>
        {
            var expectValid = i % 3 != 2;
            var result = verifier.Verify(expectValid ? documents[i % 2] : tampered);
            if (result.IsValid != expectValid || (!expectValid && result.Failure != AttestationFailure.BadSignature))
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void VerifyOrThrow_throws_with_the_result()
    {
        var vector = AttestationVectors.Get("eternis_2024-07-23_debug_BADSIG.cbor");

        var ex = Assert.Throws<AttestationVerificationException>(() => Verifiers.At(vector.PinTime).VerifyOrThrow(vector.Read()));

        Assert.Equal(AttestationFailure.BadSignature, ex.Failure);
        Assert.Contains("BadSignature", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Result.Document);
    }

    [Fact]
    public void VerifyOrThrow_returns_a_valid_result()
    {
        var vector = AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor");

        Assert.True(Verifiers.At(vector.PinTime).VerifyOrThrow(vector.Read()).IsValid);
    }

    [Fact]
    public void A_document_older_than_the_maximum_age_is_refused()
    {
        var vector = AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor");
        AttestationVerifier WithMaxAge(TimeSpan age) => new(new() { TimeProvider = new FakeTimeProvider(vector.PinTime), MaxAge = age });

        var tooOld = WithMaxAge(TimeSpan.FromSeconds(1)).Verify(vector.Read());
        var fresh = WithMaxAge(TimeSpan.FromMinutes(5)).Verify(vector.Read());

        Assert.Equal(AttestationFailure.DocumentTooOld, tooOld.Failure);
        Assert.True(fresh.IsValid, fresh.ToString());
    }

    [Fact]
    public void A_timestamp_beyond_now_plus_skew_is_in_the_future()
    {
        using var pki = TestPki.Create();
        var now = TestPki.NotBefore.AddHours(1);
        var verifier = Verifiers.At(now, pki.Root);

        var future = verifier.Verify(pki.Sign(timestamp: now.AddMinutes(2)));
        var withinSkew = verifier.Verify(pki.Sign(timestamp: now.AddSeconds(30)));

        Assert.Equal(AttestationFailure.TimestampInFuture, future.Failure);
        Assert.True(withinSkew.IsValid, withinSkew.ToString());
    }

    [Fact]
    public void A_timestamp_before_the_leaf_is_valid_is_not_yet_valid()
    {
        using var pki = TestPki.Create();

        var result = Verifiers.At(TestPki.NotBefore.AddHours(1), pki.Root).Verify(pki.Sign(timestamp: TestPki.NotBefore.AddSeconds(-1)));

        Assert.Equal(AttestationFailure.CertificateNotYetValid, result.Failure);
        Assert.Contains("document's timestamp", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_not_yet_valid_at_now_is_refused()
    {
        var vector = AttestationVectors.Get("tinfoil_2025-01-10_prod.cbor");
        var notBefore = Verifiers.At(vector.PinTime).Verify(vector.Read()).Chain!.NotBefore;

        var result = Verifiers.At(notBefore.AddMinutes(-2)).Verify(vector.Read());

        Assert.Equal(AttestationFailure.CertificateNotYetValid, result.Failure);
    }

    [Fact]
    public void Options_are_validated_when_the_verifier_is_built()
    {
        Assert.Throws<ArgumentException>(() => new AttestationVerifier(new() { TrustedRoots = [] }));
        Assert.Throws<ArgumentException>(() => new AttestationVerifier(new() { ClockSkew = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentException>(() => new AttestationVerifier(new() { MaxAge = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new AttestationVerifier(new() { ChainCacheCapacity = -1 }));
        Assert.Throws<ArgumentNullException>(() => new AttestationVerifier(new() { TimeProvider = null! }));
    }
}

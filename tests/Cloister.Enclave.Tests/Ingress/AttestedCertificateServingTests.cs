using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Verification;
using Cloister.Enclave.Ingress;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>Real TLS handshakes against attested ingress: what certificate is served, and what its document says.</summary>
public sealed class AttestedCertificateServingTests : IAsyncLifetime
{
    private IngressHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await IngressHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Base_certificate_embeds_a_document_that_verifies_under_the_simulated_root_and_binds_the_certificates_key()
    {
        var (tls, certificate) = await _harness.HandshakeAsync(IngressHarness.Hostname);
        await using var _ = tls;

        Assert.True(AttestedCertificate.TryGetDocument(certificate, out var document));
        var keyBinding = AttestedCertificate.GetKeyBinding(certificate);
        var verification = _harness.Verify(document, new AttestationPolicy { ExpectedUserData = keyBinding, AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
        Assert.Equal(AttestedCertificateFactory.RandomNonceLength, verification.Document!.Document.Nonce!.Length);
        Assert.Null(verification.Document.Document.PublicKey);
        Assert.Equal([IngressHarness.Hostname], AttestedCertificate.GetHostnames(certificate));
        using var key = certificate.GetECDsaPublicKey()!;
        Assert.Equal(256, key.KeySize);
    }

    [Fact]
    public async Task Base_certificate_is_the_same_for_every_handshake_and_for_an_sni_that_is_not_a_nonce()
    {
        var (first, one) = await _harness.HandshakeAsync(IngressHarness.Hostname);
        var (second, other) = await _harness.HandshakeAsync("unrelated.example");
        await first.DisposeAsync();
        await second.DisposeAsync();

        Assert.Equal(one.Thumbprint, other.Thumbprint);
        Assert.Equal(_harness.Port.Base.Current.Served.Certificate.Thumbprint, one.Thumbprint);
    }

    [Fact]
    public async Task Nonce_sni_gets_a_fresh_certificate_whose_document_carries_the_nonce_and_a_second_one_differs()
    {
        var (baseTls, baseCertificate) = await _harness.HandshakeAsync(IngressHarness.Hostname);
        await baseTls.DisposeAsync();
        var nonce = RandomNumberGenerator.GetBytes(NonceHostName.MaxNonceLength);

        var (firstTls, first) = await _harness.HandshakeAsync(NonceHostName.Format(nonce, IngressHarness.Hostname));
        var (secondTls, second) = await _harness.HandshakeAsync(NonceHostName.Format(nonce, IngressHarness.Hostname));
        await firstTls.DisposeAsync();
        await secondTls.DisposeAsync();

        foreach (var certificate in new[] { first, second })
        {
            Assert.True(AttestedCertificate.TryGetDocument(certificate, out var document));
            var verification = _harness.Verify(document, new AttestationPolicy { ExpectedNonce = nonce, ExpectedUserData = AttestedCertificate.GetKeyBinding(certificate), AllowDebugMode = true });
            Assert.True(verification.IsValid, verification.ToString());
            Assert.NotEqual(baseCertificate.Thumbprint, certificate.Thumbprint);
        }

        // Never cached: same nonce, yet a new key and a new document.
        Assert.NotEqual(first.Thumbprint, second.Thumbprint);
        Assert.NotEqual(AttestedCertificate.GetKeyBinding(first), AttestedCertificate.GetKeyBinding(second));
        Assert.Equal(baseCertificate.Thumbprint, _harness.Port.Base.Current.Served.Certificate.Thumbprint);
    }

    [Fact]
    public async Task Base_certificate_rotates_when_a_third_of_its_documents_signing_certificate_life_is_left()
    {
        var before = _harness.Port.Base.Current;
        var life = before.Served.SigningCertificateNotAfter - before.Served.SigningCertificateNotBefore;
        Assert.Equal(before.Served.SigningCertificateNotAfter - (life / 3), before.RotateAt);

        _harness.Time.Advance(before.RotateAt - _harness.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.Same(before, _harness.Port.Base.Current);
        _harness.Time.Advance(TimeSpan.FromSeconds(2));
        await IngressHarness.WaitUntilAsync(() => _harness.Port.Base.Current != before, "the rotation");

        var (tls, after) = await _harness.HandshakeAsync(IngressHarness.Hostname);
        await tls.DisposeAsync();
        Assert.Equal(_harness.Port.Base.Current.Served.Certificate.Thumbprint, after.Thumbprint);
        Assert.NotEqual(before.Served.KeyBinding, AttestedCertificate.GetKeyBinding(after));
        Assert.True(AttestedCertificate.TryGetDocument(after, out var document));
        Assert.NotEqual(before.Served.Document, document);
        var verification = _harness.Verify(document, new AttestationPolicy { ExpectedUserData = AttestedCertificate.GetKeyBinding(after), AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
        Assert.True(_harness.Port.Base.Current.Served.SigningCertificateNotAfter > before.Served.SigningCertificateNotAfter);
        Assert.Contains(_harness.Logs, line => line.StartsWith($"ingress {IngressHarness.IngressPort}: rotated the base certificate sha256:{_harness.Port.Base.Current.Served.Sha256Thumbprint}", StringComparison.Ordinal));
    }
}

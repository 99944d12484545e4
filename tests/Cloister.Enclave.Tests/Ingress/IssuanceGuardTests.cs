using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using Cloister.Attestation.Certificates;
using Cloister.Enclave.Ingress;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>The expensive path under pressure: a burst queues and is served, what is over the bounds is refused; everything else carries on.</summary>
public sealed class IssuanceGuardTests
{
    private static string NonceName() => NonceHostName.Format(RandomNumberGenerator.GetBytes(16), IngressHarness.Hostname);

    [Fact]
    public async Task Over_the_rate_nonce_handshakes_and_documents_are_refused_and_logged_once_while_base_handshakes_succeed()
    {
        // A bucket of two that refills one token per 1000 s of the fake clock.
        await using var harness = await IngressHarness.StartAsync(new IssuanceLimits { Burst = 2, PerSecond = 0.001, Concurrency = 4 });
        for (var i = 0; i < 2; i++)
        {
            var (tls, _) = await harness.HandshakeAsync(NonceName());
            await tls.DisposeAsync();
        }

        var requestsBefore = harness.NsmRequests;
        await Assert.ThrowsAnyAsync<Exception>(() => harness.HandshakeAsync(NonceName()));
        await Assert.ThrowsAnyAsync<Exception>(() => harness.HandshakeAsync(NonceName()));
        using (var client = harness.CreateClient())
        using (var refused = await client.GetAsync($"{AttestationEndpoint.Path}?nonce=AAECAw"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        }

        // The base certificate costs nothing and is never refused; the refused ones never reached the NSM.
        var (baseTls, _) = await harness.HandshakeAsync(IngressHarness.Hostname);
        await baseTls.DisposeAsync();
        Assert.Equal(requestsBefore, harness.NsmRequests);
        var refusals = harness.Logs.Where(line => line.Contains("refused", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"refused ingress {IngressHarness.IngressPort}: a nonce certificate for {IngressHarness.DefaultClient}: it could not start within 3 s (0 waiting ahead; 4 at once, 0.001/s, burst 2)"], refusals);

        harness.Time.Advance(TimeSpan.FromSeconds(1000));
        var (again, _) = await harness.HandshakeAsync(NonceName());
        await again.DisposeAsync();
    }

    [Fact]
    public async Task A_burst_of_nonce_handshakes_beyond_the_slots_waits_its_turn_and_is_served()
    {
        await using var harness = await IngressHarness.StartAsync(new IssuanceLimits { Concurrency = 1 });
        var blocked = harness.BlockNsm();
        var burst = Enumerable.Range(0, 6).Select(_ => harness.HandshakeAsync(NonceName())).ToList();
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));

        // One issue holds the only slot while the NSM is held; the others queue behind it instead of being refused.
        await IngressHarness.WaitUntilAsync(() => harness.Port.Guard.Waiting == burst.Count - 1, "the rest of the burst to queue");
        harness.ReleaseNsm();
        foreach (var handshake in burst)
        {
            var (tls, certificate) = await handshake.WaitAsync(TimeSpan.FromSeconds(30));
            await tls.DisposeAsync();
            Assert.True(AttestedCertificate.TryGetDocument(certificate, out _));
        }

        Assert.DoesNotContain(harness.Logs, line => line.StartsWith("refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stalled_nonce_handshake_holds_up_neither_base_handshakes_nor_the_refusal_of_a_nonce_one_whose_wait_runs_out()
    {
        await using var harness = await IngressHarness.StartAsync(new IssuanceLimits { Concurrency = 1, QueueWait = TimeSpan.FromSeconds(2) });
        var blocked = harness.BlockNsm();
        var stalled = harness.HandshakeAsync(NonceName());
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));

        var waiting = harness.HandshakeAsync(NonceName());
        await IngressHarness.WaitUntilAsync(() => harness.Port.Guard.Waiting == 1, "the second nonce handshake to queue");
        var (baseTls, _) = await harness.HandshakeAsync(IngressHarness.Hostname);
        await baseTls.DisposeAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(2));

        var refusal = await Assert.ThrowsAnyAsync<Exception>(() => waiting);
        Assert.True(refusal is AuthenticationException or IOException, refusal.ToString());
        Assert.False(stalled.IsCompleted);
        Assert.Contains(harness.Logs, line => line.EndsWith(": it did not start within 2 s", StringComparison.Ordinal));

        harness.ReleaseNsm();
        var (tls, certificate) = await stalled.WaitAsync(TimeSpan.FromSeconds(30));
        await tls.DisposeAsync();
        Assert.True(AttestedCertificate.TryGetDocument(certificate, out _));
    }
}

using System.Security.Cryptography;
using Cloister.Attestation.Certificates;
using Cloister.Enclave.Ingress;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>What attested ingress does when the NSM fails or a hostname cannot be carried: clear errors at start, the old certificate kept later.</summary>
public sealed class AttestedIngressFailureTests
{
    [Fact]
    public async Task An_nsm_that_refuses_fails_the_start_as_a_platform_failure_naming_the_port()
    {
        var failure = await Assert.ThrowsAsync<SupervisorStartupException>(() => IngressHarness.StartAsync(nsmFails: true));

        Assert.Equal(StartupFailure.Platform, failure.Reason);
        Assert.Equal($"ingress {IngressHarness.IngressPort}: no base certificate: NSM answered InternalError", failure.Message);
    }

    [Fact]
    public async Task A_hostname_a_certificate_cannot_carry_fails_the_start_as_a_configuration_failure_naming_the_port()
    {
        var failure = await Assert.ThrowsAsync<SupervisorStartupException>(() => IngressHarness.StartAsync(hostnames: ["not a hostname"]));

        Assert.Equal(StartupFailure.Configuration, failure.Reason);
        Assert.StartsWith($"ingress {IngressHarness.IngressPort}: hostnames: ", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 256, "Concurrency: 0 is not at least 1")]
    [InlineData(2, -1, "QueueLength: -1 is negative")]
    public async Task Issuing_limits_out_of_range_fail_the_start_as_a_configuration_failure_naming_the_bound(int concurrency, int queueLength, string error)
    {
        var limits = new IssuanceLimits { Concurrency = concurrency, QueueLength = queueLength };

        var failure = await Assert.ThrowsAsync<SupervisorStartupException>(() => IngressHarness.StartAsync(limits));

        Assert.Equal(StartupFailure.Configuration, failure.Reason);
        Assert.Equal($"attested ingress: limits: {error}", failure.Message);
    }

    [Fact]
    public async Task A_failed_rotation_keeps_the_current_certificate_logs_and_retries_a_minute_later()
    {
        await using var harness = await IngressHarness.StartAsync();
        var before = harness.Port.Base.Current;
        harness.NsmFails = true;

        harness.Time.Advance(before.RotateAt - harness.Time.GetUtcNow());
        await IngressHarness.WaitUntilAsync(() => harness.Logs.Any(line => line.Contains("rotating the base certificate failed", StringComparison.Ordinal)), "the failure's log line");
        Assert.Same(before, harness.Port.Base.Current);
        Assert.Contains($"ingress {IngressHarness.IngressPort}: rotating the base certificate failed, still serving {before.Served.Sha256Thumbprint} until it works: NSM answered InternalError", harness.Logs);
        var (tls, served) = await harness.HandshakeAsync(IngressHarness.Hostname);
        await tls.DisposeAsync();
        Assert.Equal(before.Served.Certificate.Thumbprint, served.Thumbprint);

        harness.NsmFails = false;
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await IngressHarness.WaitUntilAsync(() => harness.Port.Base.Current != before, "the retried rotation");
    }

    [Fact]
    public async Task A_nonce_certificate_the_nsm_refuses_fails_that_handshake_only()
    {
        await using var harness = await IngressHarness.StartAsync();
        harness.NsmFails = true;

        await Assert.ThrowsAnyAsync<Exception>(() => harness.HandshakeAsync(NonceHostName.Format(RandomNumberGenerator.GetBytes(8), IngressHarness.Hostname)));

        var (tls, _) = await harness.HandshakeAsync(IngressHarness.Hostname);
        await tls.DisposeAsync();
        Assert.Contains($"ingress {IngressHarness.IngressPort}: a nonce certificate could not be made: NSM answered InternalError", harness.Logs);
    }
}

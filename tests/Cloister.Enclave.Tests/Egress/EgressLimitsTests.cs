using System.Net;
using Cloister.Enclave.Egress;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Egress;

/// <summary>The proxy's bounds: idle tunnels end, and connections over the limit are refused without opening anything.</summary>
public sealed class EgressLimitsTests(OriginServer origin) : IClassFixture<OriginServer>
{
    private static readonly Dictionary<string, IPAddress> s_names = new() { ["origin.test"] = IPAddress.Loopback };

    [Fact]
    public async Task An_idle_tunnel_is_closed_and_the_app_and_the_host_both_see_it_end()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names, limits: new EgressProxyOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = await egress.OpenTunnelAsync($"origin.test:{origin.HttpPort}");

        // The app sends nothing; the proxy ends the tunnel with an orderly close, not a reset (which would throw here).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await client.GetStream().ReadAsync(new byte[16], timeout.Token));

        Assert.Equal(
            $"egress idle CONNECT origin.test:{origin.HttpPort}: closed after 0.3 s without traffic: 0 bytes forward, 0 bytes back",
            await egress.WaitForLogAsync(line => line.StartsWith("egress idle ", StringComparison.Ordinal)));
        // The host's relay ended too: the end travelled through to the destination and back.
        await egress.WaitForLogAsync(line => line.StartsWith($"egress closed origin.test:{origin.HttpPort}: 0 bytes forward, 0 bytes back", StringComparison.Ordinal));
        Assert.Equal(0, egress.Proxy.OpenConnections);
    }

    [Fact]
    public async Task Over_the_limit_a_connect_gets_503_with_the_reason_opens_nothing_and_is_logged_once()
    {
        await using var egress = await EgressHarness.StartAsync(
            ["origin.test"],
            names: s_names,
            limits: new EgressProxyOptions { MaxTunnels = 2, OverloadLogInterval = TimeSpan.FromHours(1) });
        var first = await egress.OpenTunnelAsync($"origin.test:{origin.HttpPort}");
        using var second = await egress.OpenTunnelAsync($"origin.test:{origin.HttpPort}");

        var refusals = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            refusals.Add(await egress.SendRawAsync($"CONNECT origin.test:{origin.HttpPort} HTTP/1.1\r\n\r\n"));
        }

        var reason = $"egress to origin.test:{origin.HttpPort} is refused: the proxy serves at most 2 connections at once";
        Assert.All(refusals, response => EgressHarness.AssertProxyAnswer(response, "503 Service Unavailable", reason));
        // Nothing reached the host for them, nothing of theirs is still open, and the log has one line for all three.
        Assert.Equal(2, egress.Log.Count(line => line.StartsWith("egress allowed ", StringComparison.Ordinal)));
        Assert.Equal(2, egress.Log.Count(line => line.StartsWith("egress connected ", StringComparison.Ordinal)));
        Assert.Equal(2, egress.Proxy.OpenConnections);
        Assert.Equal(
            [$"egress overloaded CONNECT origin.test:{origin.HttpPort}: the proxy serves at most 2 connections at once"],
            egress.Log.Where(line => line.StartsWith("egress overloaded ", StringComparison.Ordinal)));

        // A request the policy refuses is told so, limit or not.
        EgressHarness.AssertProxyAnswer(
            await egress.SendRawAsync("CONNECT elsewhere.test:443 HTTP/1.1\r\n\r\n"),
            "403 Forbidden",
            "egress to elsewhere.test:443 is not allowed: no allow rule matches");

        // A tunnel that ends makes room for the next.
        first.Dispose();
        await egress.WaitForLogAsync(line => line.StartsWith($"egress closed CONNECT origin.test:{origin.HttpPort}: ", StringComparison.Ordinal));
        await WaitUntilAsync(() => egress.Proxy.OpenConnections == 1);
        using var third = await egress.OpenTunnelAsync($"origin.test:{origin.HttpPort}");
        Assert.Equal(2, egress.Proxy.OpenConnections);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_limit_below_one_or_a_non_positive_idle_timeout_is_refused_at_start(int value)
    {
        using var run = new TempRunDirectory();
        var transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = run.Path, LocalCid = EgressHarness.EnclaveCid });
        var policy = EgressPolicy.Parse(["origin.test"], []);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => EgressProxy.StartAsync(policy, transport, new EgressProxyOptions { Port = 0, MaxTunnels = value }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => EgressProxy.StartAsync(policy, transport, new EgressProxyOptions { Port = 0, IdleTimeout = TimeSpan.FromSeconds(value) }, CancellationToken.None));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}

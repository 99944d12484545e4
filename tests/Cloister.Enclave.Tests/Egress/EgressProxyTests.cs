using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Cloister.Enclave.Egress;
using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Tests.Egress;

public sealed class EgressProxyTests(OriginServer origin) : IClassFixture<OriginServer>
{
    // The tests' names, resolved by the host forwarder without a hosts file.
    private static readonly Dictionary<string, IPAddress> s_names = new()
    {
        ["origin.test"] = IPAddress.Loopback,
        ["api.allowed.test"] = IPAddress.Loopback,
        ["blocked.allowed.test"] = IPAddress.Loopback,
        ["internal.test"] = IPAddress.Parse("10.0.0.7"),
    };

    [Fact]
    public async Task Plain_http_to_an_allowed_name_is_forwarded_with_the_host_from_the_url()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        var body = await client.GetStringAsync($"http://origin.test:{origin.HttpPort}/hello");

        Assert.Equal($"hello from the origin, Host: origin.test:{origin.HttpPort}", body);
        Assert.Contains($"egress allowed GET origin.test:{origin.HttpPort}: rule 'origin.test'", egress.Log);
        Assert.Contains($"egress connected origin.test:{origin.HttpPort}: connected to 127.0.0.1:{origin.HttpPort}", egress.Log);
    }

    [Fact]
    public async Task Plain_http_requests_each_get_their_own_connection_because_the_proxy_asks_the_origin_to_close()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        using var first = await client.GetAsync($"http://origin.test:{origin.HttpPort}/echo/one");
        using var second = await client.GetAsync($"http://origin.test:{origin.HttpPort}/echo/two");

        Assert.Equal("one", await first.Content.ReadAsStringAsync());
        Assert.Equal("two", await second.Content.ReadAsStringAsync());
        Assert.True(first.Headers.ConnectionClose);
        Assert.Equal(2, egress.Log.Count(line => line.StartsWith($"egress connected origin.test:{origin.HttpPort}:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Https_through_connect_to_a_wildcard_allowed_name_passes()
    {
        await using var egress = await EgressHarness.StartAsync(["*.allowed.test:" + origin.HttpsPort], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        var body = await client.GetStringAsync($"https://api.allowed.test:{origin.HttpsPort}/hello");

        Assert.Equal($"hello from the origin, Host: api.allowed.test:{origin.HttpsPort}", body);
        Assert.Contains($"egress allowed CONNECT api.allowed.test:{origin.HttpsPort}: rule '*.allowed.test:{origin.HttpsPort}'", egress.Log);
    }

    [Fact]
    public async Task Localhost_resolved_by_the_real_resolver_passes_when_the_host_allows_private_destinations()
    {
        // No name map: the forwarder asks Dns, which answers from /etc/hosts (::1 and/or 127.0.0.1; the origin listens on
        // 127.0.0.1 only, so this also covers trying the next checked address).
        await using var egress = await EgressHarness.StartAsync(["localhost"]);
        using var client = egress.CreateClient(origin.CertificateHash);

        Assert.Equal($"hello from the origin, Host: localhost:{origin.HttpsPort}", await client.GetStringAsync($"https://localhost:{origin.HttpsPort}/hello"));
    }

    [Fact]
    public async Task A_deny_rule_wins_and_the_403_names_it()
    {
        await using var egress = await EgressHarness.StartAsync(["**.allowed.test"], deny: ["blocked.allowed.test"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        using var plain = await client.GetAsync($"http://blocked.allowed.test:{origin.HttpPort}/hello");
        var tunnel = await egress.SendRawAsync($"CONNECT blocked.allowed.test:{origin.HttpsPort} HTTP/1.1\r\nHost: blocked.allowed.test\r\n\r\n");

        Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
        Assert.Equal($"egress to blocked.allowed.test:{origin.HttpPort} is denied by rule 'blocked.allowed.test'\n", await plain.Content.ReadAsStringAsync());
        EgressHarness.AssertProxyAnswer(tunnel, "403 Forbidden", $"egress to blocked.allowed.test:{origin.HttpsPort} is denied by rule 'blocked.allowed.test'");
        Assert.Contains($"egress denied GET blocked.allowed.test:{origin.HttpPort}: egress to blocked.allowed.test:{origin.HttpPort} is denied by rule 'blocked.allowed.test'", egress.Log);
    }

    [Fact]
    public async Task A_host_no_allow_rule_matches_gets_403()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test:443"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        // The name is allowed on 443 only.
        using var response = await client.GetAsync($"http://origin.test:{origin.HttpPort}/hello");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal($"egress to origin.test:{origin.HttpPort} is not allowed: no allow rule matches\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_empty_allow_list_allows_nothing()
    {
        await using var egress = await EgressHarness.StartAsync([], names: s_names);

        var response = await egress.SendRawAsync($"CONNECT origin.test:{origin.HttpsPort} HTTP/1.1\r\n\r\n");

        EgressHarness.AssertProxyAnswer(response, "403 Forbidden", $"egress to origin.test:{origin.HttpsPort} is not allowed: the manifest allows no egress at all");
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1 is loopback")]
    [InlineData("[::1]", "::1 is loopback")]
    [InlineData("10.1.2.3", "10.1.2.3 is private (RFC 1918)")]
    [InlineData("169.254.169.254", "169.254.169.254 is link-local (169.254.0.0/16, where the instance metadata service lives)")]
    [InlineData("internal.test", "internal.test resolves to 10.0.0.7 is private (RFC 1918)")]
    public async Task The_host_refuses_private_destinations_the_policy_allowed_and_the_app_gets_502(string host, string reason)
    {
        await using var egress = await EgressHarness.StartAsync(["127.0.0.1", "::1", "10.0.0.0/8", "169.254.169.254", "internal.test"], allowPrivate: false, names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);

        using var response = await client.GetAsync($"http://{host}:{origin.HttpPort}/latest/meta-data/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var target = host.Trim('[', ']') is var bare && bare.Contains(':', StringComparison.Ordinal) ? $"[{bare}]" : host;
        Assert.Equal(
            $"the host refused egress to {target}:{origin.HttpPort}: refused: {reason} and this host does not allow private destinations\n",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_a_forwarder_on_the_host_the_app_gets_502()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], withForwarder: false);

        var response = await egress.SendRawAsync($"CONNECT origin.test:{origin.HttpsPort} HTTP/1.1\r\n\r\n");

        EgressHarness.AssertProxyAnswer(response, "502 Bad Gateway", $"the host's egress forwarder is unreachable: nothing listens on vsock 3:7002: no socket at {egress.SocketPath(3, 7002)}");
    }

    [Theory]
    [InlineData("CONNECT origin.test HTTP/1.1\r\n\r\n", "the target 'origin.test' is not host:port: egress request 'origin.test': no ':port'")]
    [InlineData("CONNECT origin.test:443 HTTP/1.1 extra\r\n\r\n", "the request target has a byte that is not visible ASCII at offset 23")]
    [InlineData("CONNECT origin.test:443\r\n\r\n", "the request line is not 'METHOD target HTTP/1.x'")]
    [InlineData("\r\n\r\n", "the request line is not 'METHOD target HTTP/1.x'")]
    public async Task Malformed_connect_lines_get_400_and_the_connection_closes(string request, string message)
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);

        // Reading to the end proves the proxy closed the connection after answering.
        var response = await egress.SendRawAsync(request);

        EgressHarness.AssertProxyAnswer(response, "400 Bad Request", message);
    }

    [Fact]
    public async Task Oversized_headers_get_400_and_the_connection_closes()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);

        // The app keeps sending well past the limit: the proxy answers, drains a little, and closes without a reset.
        var response = await egress.SendRawAsync($"GET http://origin.test/ HTTP/1.1\r\nX-Big: {new string('a', 40 * 1024)}\r\n\r\n");

        EgressHarness.AssertProxyAnswer(response, "400 Bad Request", "the request head is larger than 16384 bytes");
    }

    [Fact]
    public async Task A_slow_request_head_gets_408_and_the_connection_closes()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names, limits: new EgressProxyOptions { HeadTimeout = TimeSpan.FromMilliseconds(300) });

        var response = await egress.SendRawAsync("GET http://origin.test/ HTTP/1.1\r\nHost: origin");

        EgressHarness.AssertProxyAnswer(response, "408 Request Timeout", "no complete request head within 0.3 s");
    }

    [Fact]
    public async Task Many_concurrent_tunnels_each_reach_the_origin_and_get_their_own_answer()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);

        // HTTP/1.0 inside the tunnel: the origin answers without chunking and closes, so each reply ends the stream.
        var responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => egress.SendRawAsync(
            $"CONNECT origin.test:{origin.HttpPort} HTTP/1.1\r\n\r\nGET /echo/tunnel-{i} HTTP/1.0\r\nHost: origin.test\r\n\r\n")));

        for (var i = 0; i < responses.Length; i++)
        {
            Assert.StartsWith("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n", responses[i], StringComparison.Ordinal);
            Assert.EndsWith($"\r\n\r\ntunnel-{i}", responses[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_large_download_through_a_tls_tunnel_arrives_intact()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);
        const long Count = 48L * 1024 * 1024 + 123;

        await using var body = await client.GetStreamAsync($"https://origin.test:{origin.HttpsPort}{DeterministicBytes.Format(Count, 7)}");
        using var sha = SHA256.Create();
        var received = Convert.ToHexStringLower(await sha.ComputeHashAsync(body));

        Assert.Equal(DeterministicBytes.Sha256Hex(Count, 7), received);
    }

    [Fact]
    public async Task A_large_upload_through_plain_http_forwarding_arrives_intact()
    {
        await using var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);
        using var client = egress.CreateClient(origin.CertificateHash);
        var payload = RandomNumberGenerator.GetBytes(24 * 1024 * 1024 + 5);

        using var response = await client.PostAsync($"http://origin.test:{origin.HttpPort}/sha256", new ByteArrayContent(payload));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(payload)), await response.Content.ReadAsStringAsync());
        var closed = await egress.WaitForLogAsync(line => line.StartsWith($"egress closed POST origin.test:{origin.HttpPort}: ", StringComparison.Ordinal));
        // Forward: the body alone (the head was rewritten and sent before the relay started); back: the whole response.
        Assert.Matches($@"^egress closed POST origin\.test:\d+: {payload.Length} bytes forward, \d+ bytes back$", closed);
    }

    [Fact]
    public async Task Stopping_both_ends_closes_open_tunnels()
    {
        var egress = await EgressHarness.StartAsync(["origin.test"], names: s_names);
        using var client = await egress.OpenTunnelAsync($"origin.test:{origin.HttpPort}");
        var stream = client.GetStream();
        var buffer = new byte[16];

        // The tunnel is open and idle; disposing stops the proxy, the forwarder and every relay, and returns.
        await egress.DisposeAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await stream.ReadAsync(buffer, timeout.Token));
        Assert.True(egress.Forwarding.IsCompletedSuccessfully);
    }

    [Fact]
    public void The_app_environment_points_every_spelling_at_the_proxy()
    {
        var environment = EgressProxy.GetAppEnvironment(new IPEndPoint(IPAddress.Loopback, EgressRules.ProxyPort));

        Assert.Equal(
            [
                new("HTTP_PROXY", "http://127.0.0.1:3128"), new("HTTPS_PROXY", "http://127.0.0.1:3128"),
                new("http_proxy", "http://127.0.0.1:3128"), new("https_proxy", "http://127.0.0.1:3128"),
                new("NO_PROXY", "localhost,127.0.0.1"), new KeyValuePair<string, string>("no_proxy", "localhost,127.0.0.1"),
            ],
            environment);
    }
}

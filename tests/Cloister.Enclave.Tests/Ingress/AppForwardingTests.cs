using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Certificates;
using Microsoft.AspNetCore.WebUtilities;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>
/// Requests through attested TLS to the app: headers, streaming, HTTP/2, upgrades, and the app's failures; over connections
/// relayed by the host, and (<see cref="HandedOverAppForwardingTests"/>) over connections the simulator hands over whole.
/// </summary>
public class AppForwardingTests : IAsyncLifetime
{
    private IngressHarness _harness = null!;

    /// <summary>Whether the harness hands its client connections over to the enclave instead of connecting to the vsock port.</summary>
    protected virtual bool HandOver => false;

    public async Task InitializeAsync() => _harness = await IngressHarness.StartAsync(appResponseTimeout: TimeSpan.FromSeconds(2), handOver: HandOver);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task App_sees_the_client_address_from_the_proxy_header_in_forwarding_headers_and_none_of_the_hop_by_hop_ones()
    {
        using var client = _harness.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers?a=1&b=%2F");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "198.51.100.1");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "http");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=198.51.100.1");
        request.Headers.TryAddWithoutValidation("Connection", "X-Private-Hop");
        request.Headers.TryAddWithoutValidation("X-Private-Hop", "must not pass");
        request.Headers.TryAddWithoutValidation("X-Custom", "passes");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = await HeadersAsync(response);
        Assert.Equal("HTTP/1.1", seen["protocol"]);
        Assert.Equal("/headers?a=1&b=%2F", seen["target"]);
        Assert.Equal($"{IngressHarness.Hostname}:{IngressHarness.IngressPort}", seen["host"]);
        Assert.Equal("198.51.100.1, 203.0.113.7", seen["x-forwarded-for"]);
        Assert.Equal("https", seen["x-forwarded-proto"]);
        Assert.Equal($"{IngressHarness.Hostname}:{IngressHarness.IngressPort}", seen["x-forwarded-host"]);
        Assert.Equal($"for=198.51.100.1, for=203.0.113.7;proto=https;host=\"{IngressHarness.Hostname}:{IngressHarness.IngressPort}\"", seen["forwarded"]);
        Assert.Equal("passes", seen["x-custom"]);
        Assert.False(seen.ContainsKey("x-private-hop"));
        // The app's own headers come back; its hop-by-hop ones do not.
        Assert.Equal("from the app", response.Headers.GetValues("X-App-Header").Single());
        Assert.False(response.Headers.Contains("Keep-Alive"));
    }

    [Fact]
    public async Task A_nonce_prefix_in_host_reaches_the_app_as_the_host_behind_it()
    {
        using var client = _harness.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.Host = $"{NonceHostName.Format(RandomNumberGenerator.GetBytes(32), IngressHarness.Hostname)}:{IngressHarness.IngressPort}";

        using var response = await client.SendAsync(request);

        var seen = await HeadersAsync(response);
        Assert.Equal($"{IngressHarness.Hostname}:{IngressHarness.IngressPort}", seen["host"]);
        Assert.Equal($"{IngressHarness.Hostname}:{IngressHarness.IngressPort}", seen["x-forwarded-host"]);
        Assert.EndsWith($"host=\"{IngressHarness.Hostname}:{IngressHarness.IngressPort}\"", seen["forwarded"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ipv6_client_is_bracketed_and_quoted_in_forwarded()
    {
        using var client = _harness.CreateClient(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000));

        using var response = await client.GetAsync("/headers");

        var seen = await HeadersAsync(response);
        Assert.Equal("2001:db8::7", seen["x-forwarded-for"]);
        Assert.StartsWith("for=\"[2001:db8::7]\";proto=https;host=", seen["forwarded"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http2_from_the_client_by_alpn_reaches_the_app_as_http11()
    {
        using var client = _harness.CreateClient(version: HttpVersion.Version20);

        using var response = await client.PostAsync("/upload", new StringContent("over h2"));

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("received 7 bytes: over h2", await response.Content.ReadAsStringAsync());
        using var headers = await client.GetAsync("/headers");
        var seen = await HeadersAsync(headers);
        Assert.Equal("HTTP/1.1", seen["protocol"]);
        Assert.Equal("203.0.113.7", seen["x-forwarded-for"]);
    }

    [Fact]
    public async Task A_small_answer_the_app_chunks_arrives_whole_with_its_length()
    {
        using var client = _harness.CreateClient();

        using var response = await client.GetAsync("/headers");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal((await response.Content.ReadAsByteArrayAsync()).Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task A_large_answer_streams_through_complete()
    {
        using var client = _harness.CreateClient();

        using var response = await client.GetAsync("/large");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(EchoApp.LargeBody, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Response_body_streams_the_app_waits_for_the_client_to_have_read_the_first_part()
    {
        using var client = _harness.CreateClient();

        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[EchoApp.FirstPart.Length];
        await body.ReadExactlyAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(EchoApp.FirstPart, Encoding.UTF8.GetString(first));
        _harness.App.ResponseGate.SetResult();

        Assert.Equal("second part", await new StreamReader(body).ReadToEndAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Request_body_streams_the_app_reads_the_start_while_the_client_holds_the_rest(bool http2)
    {
        using var client = _harness.CreateClient(version: http2 ? HttpVersion.Version20 : HttpVersion.Version11);
        var content = new GatedContent(EchoApp.UploadMarker, " and the rest", _harness.App.UploadStarted.Task);

        using var response = await client.PostAsync("/upload", content).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("received 18 bytes: hello and the rest", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WebSocket_becomes_a_tunnel_to_the_app_from_an_http11_upgrade_or_an_http2_extended_connect(bool http2)
    {
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (_, _) => await _harness.ConnectAsync(),
            SslOptions = new() { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null },
        });
        using var socket = new ClientWebSocket();
        socket.Options.HttpVersion = http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;

        await socket.ConnectAsync(new Uri($"wss://{IngressHarness.Hostname}:{IngressHarness.IngressPort}/ws"), invoker, CancellationToken.None);
        foreach (var message in new[] { "one", "two through the tunnel" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            var buffer = new byte[256];
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal(message, Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task App_that_does_not_answer_in_time_gives_504()
    {
        using var client = _harness.CreateClient();

        using var response = await client.GetAsync("/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer within 2 s", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task App_that_is_down_gives_502_with_a_short_reason()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var harness = await IngressHarness.StartAsync(appPort: closedPort);
        using var client = harness.CreateClient();

        using var response = await client.GetAsync("/headers");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal($"the app on 127.0.0.1:{closedPort} is unreachable: connection refused\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Malformed_proxy_header_closes_the_connection_before_tls_and_is_logged()
    {
        await using var stream = await _harness.ConnectAsync(proxyHeader: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));

        var read = await ReadOrResetAsync(stream).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, read);
        await IngressHarness.WaitUntilAsync(
            () => _harness.Logs.Contains($"ingress {IngressHarness.IngressPort}: PROXY v2 header: signature at byte 0: 0x47 where the PROXY v2 signature has 0x0D; connection closed"),
            "the log line");
    }

    protected static async Task<int> ReadOrResetAsync(Stream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[1]);
        }
        catch (IOException ex) when (ex.InnerException is SocketException)
        {
            return 0;
        }
    }

    [Theory]
    [InlineData(false, "/whole")]
    [InlineData(true, "/whole")]
    [InlineData(false, "/stream")]
    [InlineData(true, "/stream")]
    public async Task The_apps_trailers_follow_its_body_to_the_client_over_chunked_http11_and_http2(bool http2, string path)
    {
        await using var app = ChunkedTrailerApp.Start();
        await using var harness = await IngressHarness.StartAsync(appPort: app.Port, handOver: HandOver);
        using var client = harness.CreateClient(version: http2 ? HttpVersion.Version20 : HttpVersion.Version11);

        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[EchoApp.FirstPart.Length];
        await body.ReadExactlyAsync(first);
        app.ResponseGate.SetResult();
        using var rest = new StreamReader(body);
        var text = Encoding.ASCII.GetString(first) + await rest.ReadToEndAsync();

        Assert.Equal(EchoApp.FirstPart + ChunkedTrailerApp.SecondPart, text);
        Assert.Equal(ChunkedTrailerApp.Checksum, response.TrailingHeaders.GetValues("X-Checksum").Single());
        Assert.Equal(["2", "3"], response.TrailingHeaders.GetValues("X-Count"));
        Assert.Equal(["X-Checksum", "X-Count"], response.Headers.Trailer.SelectMany(value => value.Split(", ")));
    }

    [Theory]
    [InlineData("header", HttpStatusCode.RequestHeaderFieldsTooLarge)]
    [InlineData("target", HttpStatusCode.RequestUriTooLong)]
    public async Task A_one_megabyte_request_line_or_header_is_answered_to_a_client_that_reads_only_once_it_has_sent_it_all(string part, HttpStatusCode expected)
    {
        var huge = new string('a', 1024 * 1024);
        var request = part == "header" ? $"GET / HTTP/1.1\r\nHost: {IngressHarness.Hostname}\r\nX-Huge: {huge}\r\n\r\n" : $"GET /{huge} HTTP/1.1\r\nHost: {IngressHarness.Hostname}\r\n\r\n";
        var (tls, _) = await _harness.HandshakeAsync(IngressHarness.Hostname);
        await using (tls)
        {
            // As curl and HttpClient do: the whole request first, then the answer.
            await tls.WriteAsync(Encoding.ASCII.GetBytes(request));
            using var reader = new StreamReader(tls, Encoding.ASCII);

            Assert.Equal($"HTTP/1.1 {(int)expected} {ReasonPhrases.GetReasonPhrase((int)expected)}", await reader.ReadLineAsync());
        }
    }

    private static async Task<Dictionary<string, string>> HeadersAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(": ", 2))
            .ToDictionary(parts => parts[0], parts => parts[1]);
    }

    /// <summary>A request body sent in two parts, the second only once <paramref name="gate"/> completes.</summary>
    private sealed class GatedContent(string first, string second, Task gate) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(first));
            await stream.FlushAsync();
            await gate.WaitAsync(TimeSpan.FromSeconds(30));
            await stream.WriteAsync(Encoding.UTF8.GetBytes(second));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>Every forwarding test again, over TCP connections handed over whole with the PROXY header as their preamble.</summary>
public sealed class HandedOverAppForwardingTests : AppForwardingTests
{
    protected override bool HandOver => true;

    [Fact]
    public async Task A_preamble_that_goes_on_past_its_proxy_header_is_refused_and_logged()
    {
        var harness = await IngressHarness.StartAsync(handOver: true);
        await using (harness)
        {
            await using var stream = await harness.ConnectAsync(preambleTrailer: "GET / HTTP/1.1\r\n"u8.ToArray());

            Assert.Equal(0, await ReadOrResetAsync(stream).WaitAsync(TimeSpan.FromSeconds(30)));
            await IngressHarness.WaitUntilAsync(
                () => harness.Logs.Contains($"ingress {IngressHarness.IngressPort}: the handed-over connection's preamble goes on past its PROXY v2 header; connection closed"),
                "the log line");
        }
    }
}

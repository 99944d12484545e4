using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Cloister.Enclave.Egress;

namespace Cloister.Enclave.Tests.Egress;

public sealed class ProxyRequestTests
{
    private const int Limit = 16 * 1024;

    [Fact]
    public async Task Connect_names_its_target_and_leaves_the_bytes_after_the_head()
    {
        var reader = Reader("CONNECT api.Example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n\x16\x03\x01");

        using var request = await ProxyRequest.ReadAsync(reader, Limit, CancellationToken.None);

        Assert.NotNull(request);
        Assert.True(request.IsConnect);
        Assert.Equal("CONNECT", request.Method);
        Assert.Equal("api.example.com:443", request.Target.ToString());
        var rest = await reader.ReadAsync();
        Assert.Equal([0x16, 0x03, 0x01], rest.Buffer.ToArray());
    }

    [Fact]
    public async Task Connect_takes_an_ipv6_literal_in_brackets()
    {
        using var request = await ProxyRequest.ReadAsync(Reader("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n"), Limit, CancellationToken.None);

        Assert.Equal("[2001:db8::1]:8443", request!.Target.ToString());
    }

    [Fact]
    public async Task Absolute_form_is_rewritten_to_origin_form_with_host_from_the_url_and_connection_close()
    {
        var head = "POST http://Origin.test:8080/upload?x=1 HTTP/1.1\r\n"
            + "Host: spoofed.example\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "Connection: keep-alive, X-Secret\r\n"
            + "X-Secret: hop\r\n"
            + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
            + "Content-Length: 3\r\n"
            + "Accept: */*\r\n\r\nabc";
        var reader = Reader(head);

        using var request = await ProxyRequest.ReadAsync(reader, Limit, CancellationToken.None);

        Assert.False(request!.IsConnect);
        Assert.Equal("origin.test:8080", request.Target.ToString());
        Assert.Equal(
            "POST /upload?x=1 HTTP/1.1\r\nHost: Origin.test:8080\r\nContent-Length: 3\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            Encoding.ASCII.GetString(request.ForwardedHead.Span));
        Assert.Equal("abc", Encoding.ASCII.GetString((await reader.ReadAsync()).Buffer.ToArray()));
    }

    [Theory]
    [InlineData("GET http://origin.test HTTP/1.0", "origin.test:80", "GET / HTTP/1.0")]
    [InlineData("GET http://origin.test?q HTTP/1.1", "origin.test:80", "GET /?q HTTP/1.1")]
    [InlineData("GET HTTP://[::1]:81/a HTTP/1.1", "[::1]:81", "GET /a HTTP/1.1")]
    [InlineData("DELETE http://10.0.0.1/x/y HTTP/1.1", "10.0.0.1:80", "DELETE /x/y HTTP/1.1")]
    public async Task Absolute_form_targets_default_to_port_80(string requestLine, string target, string forwardedLine)
    {
        using var request = await ProxyRequest.ReadAsync(Reader(requestLine + "\r\n\r\n"), Limit, CancellationToken.None);

        Assert.Equal(target, request!.Target.ToString());
        Assert.StartsWith(forwardedLine + "\r\n", Encoding.ASCII.GetString(request.ForwardedHead.Span), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CONNECT nohost HTTP/1.1\r\n\r\n", "the target 'nohost' is not host:port: egress request 'nohost': no ':port'")]
    [InlineData("CONNECT host:99999 HTTP/1.1\r\n\r\n", "the target 'host:99999' is not host:port: egress request 'host:99999': port 99999 is above 65535")]
    [InlineData("CONNECT [::1:443 HTTP/1.1\r\n\r\n", "the target '[::1:443' is not host:port: egress request '[::1:443': '[' at offset 0 has no closing ']'")]
    [InlineData("CONNECT bad_host!:443 HTTP/1.1\r\n\r\n", "the target 'bad_host!:443' is not host:port: egress request 'bad_host!:443': 'bad_host!' is not a valid hostname or IP address")]
    [InlineData("CONNECT host:443\r\n\r\n", "the request line is not 'METHOD target HTTP/1.x'")]
    [InlineData("CONNECT  host:443 HTTP/1.1\r\n\r\n", "the request target has a byte that is not visible ASCII at offset 8")]
    [InlineData("CONNECT host:443 HTTP/2.0\r\n\r\n", "the request line ends in 'HTTP/2.0', expected HTTP/1.1 or HTTP/1.0")]
    [InlineData("GE(T http://a/ HTTP/1.1\r\n\r\n", "the method has a character that is not allowed at offset 2")]
    [InlineData("GET /relative HTTP/1.1\r\n\r\n", "the proxy needs an absolute http:// URL or CONNECT host:port, not '/relative'")]
    [InlineData("GET https://a/ HTTP/1.1\r\n\r\n", "an https:// URL goes through CONNECT; the proxy forwards only http:// requests itself")]
    [InlineData("GET http://user:pw@a/ HTTP/1.1\r\n\r\n", "the URL carries user information ('@' in the authority)")]
    [InlineData("GET http://a/#frag HTTP/1.1\r\n\r\n", "the request target has a fragment ('#'), which is never sent")]
    [InlineData("GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n", "the header line at offset 24 has no 'name:' (a token, no space before the colon)")]
    [InlineData("GET http://a/ HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", "obsolete line folding or an empty header line at offset 30")]
    [InlineData("GET http://a/ HTTP/1.1\r\nX: a\nY: b\r\n\r\n", "the header value at offset 28 has control character 0x0A")]
    [InlineData("POST http://a/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "the request has both Content-Length and Transfer-Encoding")]
    [InlineData("GET http://a/", "the connection ended 13 bytes into the request head, before its blank line")]
    public async Task Malformed_heads_are_bad_requests_that_say_what_is_wrong(string head, string message)
    {
        var ex = await Assert.ThrowsAsync<ProxyRequestException>(async () => await ProxyRequest.ReadAsync(Reader(head), Limit, CancellationToken.None));

        Assert.Equal(400, ex.StatusCode);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public async Task A_head_larger_than_the_limit_is_refused_whether_or_not_it_ends()
    {
        var padding = "X-Pad: " + new string('a', Limit) + "\r\n";
        var unterminated = await Assert.ThrowsAsync<ProxyRequestException>(async () =>
            await ProxyRequest.ReadAsync(Reader("GET http://a/ HTTP/1.1\r\n" + padding), Limit, CancellationToken.None));
        var terminated = await Assert.ThrowsAsync<ProxyRequestException>(async () =>
            await ProxyRequest.ReadAsync(Reader("GET http://a/ HTTP/1.1\r\n" + padding + "\r\n"), Limit, CancellationToken.None));

        Assert.Equal("the request head is larger than 16384 bytes", unterminated.Message);
        Assert.Equal(unterminated.Message, terminated.Message);
    }

    [Fact]
    public async Task A_head_split_across_many_reads_parses_like_one()
    {
        var pipe = new Pipe();
        var reading = ProxyRequest.ReadAsync(pipe.Reader, Limit, CancellationToken.None).AsTask();
        foreach (var b in Encoding.ASCII.GetBytes("CONNECT split.test:443 HTTP/1.1\r\nUser-Agent: t\r\n\r\n"))
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }

        using var request = await reading;
        Assert.Equal("split.test:443", request!.Target.ToString());
    }

    [Fact]
    public async Task A_connection_closed_before_any_byte_is_no_request()
    {
        Assert.Null(await ProxyRequest.ReadAsync(Reader(""), Limit, CancellationToken.None));
    }

    private static PipeReader Reader(string text) => PipeReader.Create(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)));
}

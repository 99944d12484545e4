using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Cloister.Runtime.Messages;

namespace Cloister.Runtime.Tests.Messages;

public sealed class EgressLineTests
{
    [Theory]
    [InlineData("api.stripe.com:443", "api.stripe.com", 443, "api.stripe.com:443")]
    [InlineData("API.Stripe.COM:8443", "api.stripe.com", 8443, "api.stripe.com:8443")]
    [InlineData("_dmarc.example.org:53", "_dmarc.example.org", 53, "_dmarc.example.org:53")]
    [InlineData("10.0.0.1:80", "10.0.0.1", 80, "10.0.0.1:80")]
    [InlineData("[2001:db8::1]:443", "2001:db8::1", 443, "[2001:db8::1]:443")]
    [InlineData("[::ffff:10.1.2.3]:1", "10.1.2.3", 1, "10.1.2.3:1")]
    [InlineData("localhost:65535", "localhost", 65535, "localhost:65535")]
    public void Valid_requests_parse_and_print_canonically(string text, string host, int port, string canonical)
    {
        var request = EgressRequest.Parse(text);

        Assert.Equal(host, request.Host);
        Assert.Equal(port, request.Port);
        Assert.Equal(canonical, request.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("api.stripe.com", "no ':port'")]
    [InlineData("api.stripe.com:", "port ''")]
    [InlineData(":443", "not a valid hostname")]
    [InlineData("api.stripe.com:0", "port '0'")]
    [InlineData("api.stripe.com:0443", "port '0443'")]
    [InlineData("api.stripe.com:+443", "port '+443'")]
    [InlineData("api.stripe.com:44 3", "port '44 3'")]
    [InlineData("api.stripe.com:65536", "port 65536 is above 65535")]
    [InlineData("api.stripe.com:999999", "port '999999'")]
    [InlineData("2001:db8::1:443", "must be in brackets")]
    [InlineData("[2001:db8::1]443", "expected ':' and a port after ']' at offset 12")]
    [InlineData("[2001:db8::1]", "expected ':' and a port after ']'")]
    [InlineData("[2001:db8::1:443", "has no closing ']'")]
    [InlineData("[api.stripe.com]:443", "is not an IPv6 address")]
    [InlineData("[10.0.0.1]:443", "is not an IPv6 address")]
    [InlineData("[]:443", "is not an IPv6 address")]
    [InlineData("http://api.stripe.com:443", "more than one ':'")]
    [InlineData("-bad.example:443", "not a valid hostname")]
    [InlineData("exa mple.com:443", "not a valid hostname")]
    [InlineData("a..b:443", "not a valid hostname")]
    public void Malformed_requests_name_the_wrong_part(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => EgressRequest.Parse(text));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_the_request_leaves_the_raw_bytes_that_follow()
    {
        var reader = PipeReader.Create(new MemoryStream("api.stripe.com:443\n\x16\x03\x01 TLS hello\n"u8.ToArray()));

        var request = await EgressRequest.ReadAsync(reader);
        var rest = await reader.ReadAsync();

        Assert.Equal("api.stripe.com:443", request.ToString());
        Assert.Equal("\x16\x03\x01 TLS hello\n"u8.ToArray(), rest.Buffer.ToArray());
    }

    [Fact]
    public async Task A_request_written_is_read_back()
    {
        using var stream = new MemoryStream();
        await new EgressRequest("2001:DB8::2", 8443).WriteAsync(stream);

        Assert.Equal("[2001:db8::2]:8443\n", Encoding.ASCII.GetString(stream.ToArray()));
        stream.Position = 0;
        var read = await EgressRequest.ReadAsync(PipeReader.Create(stream));
        Assert.Equal(8443, read.Port);
        Assert.Equal("2001:db8::2", read.Host);
    }

    [Fact]
    public async Task An_overlong_request_line_is_rejected_before_its_end_arrives()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(new string('a', EgressRequest.MaxLineLength + 1)));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EgressRequest.ReadAsync(pipe.Reader).AsTask());

        Assert.Contains("longer than 1024 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_line_with_a_malformed_host_port_is_invalid_data()
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadRequestAsync("2001:db8::1:443\n"u8.ToArray()));

        Assert.IsType<FormatException>(ex.InnerException);
    }

    [Fact]
    public async Task A_non_ascii_request_line_names_the_offset()
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadRequestAsync("bücher.de:443\n"u8.ToArray()));

        Assert.Contains("offset 1 is not ASCII", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("api.stripe.com:44")]
    public async Task A_connection_that_closes_before_the_newline_is_truncated(string sent) =>
        await Assert.ThrowsAsync<EndOfStreamException>(() => ReadRequestAsync(Encoding.ASCII.GetBytes(sent)));

    [Fact]
    public async Task Answers_round_trip_and_leave_the_bytes_that_follow()
    {
        using var stream = new MemoryStream();
        await EgressResponse.Ok.WriteAsync(stream);
        await EgressResponse.Error("denied by policy: api.evil.com").WriteAsync(stream);

        Assert.Equal("OK\nERR denied by policy: api.evil.com\n", Encoding.ASCII.GetString(stream.ToArray()));
        stream.Position = 0;
        var reader = PipeReader.Create(stream);
        var ok = await EgressResponse.ReadAsync(reader);
        var error = await EgressResponse.ReadAsync(reader);
        Assert.True(ok.IsSuccess);
        Assert.Null(ok.Reason);
        Assert.False(error.IsSuccess);
        Assert.Equal("denied by policy: api.evil.com", error.Reason);
    }

    [Theory]
    [InlineData("OKAY", "expected 'OK' or 'ERR <reason>'")]
    [InlineData("ok", "expected 'OK' or 'ERR <reason>'")]
    [InlineData("ERR", "expected 'OK' or 'ERR <reason>'")]
    [InlineData("ERR ", "empty")]
    [InlineData("ERR bad\tbyte", "offset 7 (U+0009)")]
    [InlineData("ERR caf\u00e9", "not printable ASCII")]
    public async Task Malformed_answers_are_rejected(string line, string expected)
    {
        var reader = PipeReader.Create(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => EgressResponse.ReadAsync(reader).AsTask());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_that_closes_without_answering_is_truncated() =>
        await Assert.ThrowsAsync<EndOfStreamException>(() => EgressResponse.ReadAsync(PipeReader.Create(new MemoryStream())).AsTask());

    [Theory]
    [InlineData("")]
    [InlineData("line\nbreak")]
    public void Refusals_need_a_printable_reason(string reason) =>
        Assert.Throws<ArgumentException>(() => EgressResponse.Error(reason));

    private static Task<EgressRequest> ReadRequestAsync(byte[] wire) =>
        EgressRequest.ReadAsync(PipeReader.Create(new MemoryStream(wire))).AsTask();
}

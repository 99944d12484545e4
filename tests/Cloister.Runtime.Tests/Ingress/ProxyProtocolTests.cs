using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Cloister.Runtime.Ingress;

namespace Cloister.Runtime.Tests.Ingress;

public sealed class ProxyProtocolTests
{
    private static readonly ProxyHeader s_ipv4 = new(IPEndPoint.Parse("192.0.2.1:56324"), IPEndPoint.Parse("198.51.100.7:443"));
    private static readonly ProxyHeader s_ipv6 = new(IPEndPoint.Parse("[2001:db8::1]:40000"), IPEndPoint.Parse("[2001:db8::ff]:8443"));

    [Fact]
    public void An_ipv4_header_is_written_byte_for_byte_as_section_2_2_lays_it_out()
    {
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];

        var length = ProxyProtocol.Write(s_ipv4, buffer);

        Assert.Equal(
            Convert.FromHexString("0D0A0D0A000D0A515549540A" + "21" + "11" + "000C" + "C0000201" + "C6336407" + "DC04" + "01BB"),
            buffer[..length]);
    }

    [Fact]
    public void An_ipv6_header_is_written_byte_for_byte_as_section_2_2_lays_it_out()
    {
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];

        var length = ProxyProtocol.Write(s_ipv6, buffer);

        Assert.Equal(
            Convert.FromHexString("0D0A0D0A000D0A515549540A" + "21" + "21" + "0024"
                + "20010DB8000000000000000000000001" + "20010DB80000000000000000000000FF" + "9C40" + "20FB"),
            buffer[..length]);
    }

    [Fact]
    public void Mixed_families_are_written_as_ipv6_with_the_ipv4_address_mapped()
    {
        var mixed = new ProxyHeader(IPEndPoint.Parse("192.0.2.1:1000"), IPEndPoint.Parse("[::]:443"));
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];

        var length = ProxyProtocol.Write(mixed, buffer);

        Assert.Equal(52, length);
        Assert.True(ProxyProtocol.TryRead(new ReadOnlySequence<byte>(buffer, 0, length), out var header, out _));
        Assert.Equal(new ProxyHeader(IPEndPoint.Parse("[::ffff:192.0.2.1]:1000"), IPEndPoint.Parse("[::]:443")), header);
    }

    [Fact]
    public void A_destination_too_short_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => ProxyProtocol.Write(s_ipv6, new byte[51]));
        Assert.Contains("52 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void A_written_header_reads_back_and_consumes_exactly_its_own_bytes(string name)
    {
        var header = name == "ipv4" ? s_ipv4 : s_ipv6;
        var bytes = WithPayload(header, "GET / HTTP/1.1\r\n"u8);
        var sequence = new ReadOnlySequence<byte>(bytes);

        Assert.True(ProxyProtocol.TryRead(sequence, out var read, out var consumed));

        Assert.Equal(header, read);
        Assert.Equal("GET / HTTP/1.1\r\n"u8.ToArray(), sequence.Slice(consumed).ToArray());
    }

    public static TheoryData<string> Headers => new() { "ipv4", "ipv6" };

    [Fact]
    public void Tlvs_after_the_addresses_are_skipped()
    {
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(s_ipv4, buffer);
        // PP2_TYPE_AUTHORITY "example.com" and a PP2_TYPE_NOOP of 3 bytes: 14 + 6 bytes more.
        byte[] tlvs = [0x02, 0x00, 0x0B, .. "example.com"u8, 0x04, 0x00, 0x03, 0, 0, 0];
        tlvs.CopyTo(buffer, length);
        buffer[15] = (byte)(12 + tlvs.Length);
        byte[] bytes = [.. buffer[..(length + tlvs.Length)], .. "app"u8];
        var sequence = new ReadOnlySequence<byte>(bytes);

        Assert.True(ProxyProtocol.TryRead(sequence, out var header, out var consumed));

        Assert.Equal(s_ipv4, header);
        Assert.Equal("app"u8.ToArray(), sequence.Slice(consumed).ToArray());
    }

    [Fact]
    public void A_header_split_across_segments_at_every_point_reads_the_same()
    {
        var bytes = WithPayload(s_ipv6, "rest"u8);
        for (var split = 1; split < bytes.Length; split++)
        {
            var sequence = Segments(bytes[..split], bytes[split..]);

            Assert.True(ProxyProtocol.TryRead(sequence, out var header, out var consumed), $"split at {split}");

            Assert.Equal(s_ipv6, header);
            Assert.Equal("rest"u8.ToArray(), sequence.Slice(consumed).ToArray());
        }
    }

    [Fact]
    public void Every_valid_prefix_asks_for_more_and_consumes_nothing()
    {
        var bytes = WithPayload(s_ipv4, []);
        for (var available = 0; available < bytes.Length; available++)
        {
            var sequence = new ReadOnlySequence<byte>(bytes, 0, available);

            Assert.False(ProxyProtocol.TryRead(sequence, out var header, out var consumed), $"{available} bytes");

            Assert.Null(header);
            Assert.Equal(sequence.Start, consumed);
        }
    }

    [Theory]
    [InlineData(0, 0x47, "signature", 0, "0x47 where the PROXY v2 signature has 0x0D")]
    [InlineData(4, 0x01, "signature", 4, "0x01 where the PROXY v2 signature has 0x00")]
    [InlineData(11, 0x0D, "signature", 11, "0x0D where the PROXY v2 signature has 0x0A")]
    [InlineData(12, 0x11, "version", 12, "version 1, expected 2")]
    [InlineData(12, 0x20, "command", 12, "command 0, expected 1 (PROXY)")]
    [InlineData(12, 0x22, "command", 12, "command 2, expected 1 (PROXY)")]
    [InlineData(13, 0x00, "family", 13, "0x00, expected 0x11 (TCP over IPv4) or 0x21 (TCP over IPv6)")]
    [InlineData(13, 0x12, "family", 13, "0x12, expected 0x11 (TCP over IPv4) or 0x21 (TCP over IPv6)")]
    [InlineData(13, 0x31, "family", 13, "0x31, expected 0x11 (TCP over IPv4) or 0x21 (TCP over IPv6)")]
    [InlineData(15, 11, "length", 14, "11, expected 12–216 for family 0x11")]
    [InlineData(14, 0x01, "length", 14, "268, expected 12–216 for family 0x11")]
    public void A_malformed_header_names_its_field_and_offset(int offset, byte value, string field, int reportedOffset, string reason)
    {
        var bytes = WithPayload(s_ipv4, []);
        bytes[offset] = value;

        var error = Assert.Throws<ProxyProtocolException>(() => ProxyProtocol.TryRead(new ReadOnlySequence<byte>(bytes), out _, out _));

        Assert.Equal(field, error.Field);
        Assert.Equal(reportedOffset, error.Offset);
        Assert.Equal($"PROXY v2 header: {field} at byte {reportedOffset}: {reason}", error.Message);
    }

    [Fact]
    public void An_ipv6_header_whose_length_cannot_hold_its_addresses_is_refused()
    {
        var bytes = WithPayload(s_ipv6, []);
        bytes[15] = 12;

        var error = Assert.Throws<ProxyProtocolException>(() => ProxyProtocol.TryRead(new ReadOnlySequence<byte>(bytes), out _, out _));

        Assert.Equal("PROXY v2 header: length at byte 14: 12, expected 36–216 for family 0x21", error.Message);
    }

    [Fact]
    public void A_client_that_does_not_speak_the_protocol_is_refused_at_its_first_bytes()
    {
        var error = Assert.Throws<ProxyProtocolException>(() => ProxyProtocol.TryRead(new ReadOnlySequence<byte>("GET"u8.ToArray()), out _, out _));

        Assert.Equal("signature", error.Field);
        Assert.Equal(0, error.Offset);
    }

    [Fact]
    public async Task ReadAsync_takes_the_header_off_the_front_and_leaves_the_rest_in_the_reader()
    {
        var pipe = new Pipe();
        var bytes = WithPayload(s_ipv4, "hello"u8);
        var reading = ProxyProtocol.ReadAsync(pipe.Reader, CancellationToken.None).AsTask();
        // Byte by byte: the reader must wait for the whole header across many reads.
        foreach (var b in bytes)
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }

        await pipe.Writer.CompleteAsync();

        Assert.Equal(s_ipv4, await reading);
        var rest = await pipe.Reader.ReadAtLeastAsync(5);
        Assert.Equal("hello"u8.ToArray(), rest.Buffer.ToArray());
    }

    [Fact]
    public async Task ReadAsync_reports_a_connection_that_ends_inside_the_header()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(WithPayload(s_ipv4, []).AsMemory(0, 20));
        await pipe.Writer.CompleteAsync();

        var error = await Assert.ThrowsAsync<EndOfStreamException>(() => ProxyProtocol.ReadAsync(pipe.Reader, CancellationToken.None).AsTask());

        Assert.Contains("after 20 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_throws_for_a_malformed_header_without_waiting_for_more()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("SSH-2.0"u8.ToArray());

        var error = await Assert.ThrowsAsync<ProxyProtocolException>(() => ProxyProtocol.ReadAsync(pipe.Reader, CancellationToken.None).AsTask());

        Assert.Equal("signature", error.Field);
    }

    [Fact]
    public async Task ReadAsync_stops_when_cancelled()
    {
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource();
        var reading = ProxyProtocol.ReadAsync(pipe.Reader, stop.Token).AsTask();

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }

    private static byte[] WithPayload(ProxyHeader header, ReadOnlySpan<byte> payload)
    {
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(header, buffer);
        return [.. buffer[..length], .. payload];
    }

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var head = new Segment(first, 0);
        var tail = new Segment(second, first.Length);
        head.SetNext(tail);
        return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}

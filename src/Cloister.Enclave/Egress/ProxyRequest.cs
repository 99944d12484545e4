using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Cloister.Runtime.Messages;

namespace Cloister.Enclave.Egress;

/// <summary>
/// One request head the app sent to the proxy: <c>CONNECT host:port</c>, or an absolute-form plain HTTP request
/// (<c>GET http://host[:port]/path HTTP/1.1</c>) already rewritten for the origin server.
/// </summary>
/// <remarks>
/// Parsing is strict (RFC 9112): CRLF line ends only, single spaces in the request line, token header names with no space
/// before the colon, no obsolete line folding, no control characters, and never both Content-Length and
/// Transfer-Encoding. Anything else is a 400, because a proxy that reads a request differently from the origin server
/// is how requests get smuggled past a policy.
/// </remarks>
internal sealed class ProxyRequest : IDisposable
{
    private static readonly SearchValues<byte> s_tokenChars = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own; the forwarded request gets "Connection: close" instead.
    private static readonly string[] s_hopByHop = ["connection", "proxy-connection", "keep-alive", "proxy-authorization", "te", "trailer", "upgrade", "host"];

    private static readonly SpanParser<ProxyRequest> s_parse = Parse;

    private byte[]? _forwardedHead;
    private readonly int _forwardedLength;

    private ProxyRequest(string method, EgressRequest target, byte[]? forwardedHead, int forwardedLength)
    {
        Method = method;
        Target = target;
        _forwardedHead = forwardedHead;
        _forwardedLength = forwardedLength;
    }

    public string Method { get; }

    public bool IsConnect => _forwardedHead is null;

    /// <summary>Where the app wants to go, as the policy and the host see it.</summary>
    public EgressRequest Target { get; }

    /// <summary>For plain HTTP, the head to send to the origin: origin-form request line, Host from the target, hop-by-hop headers replaced by <c>Connection: close</c>.</summary>
    public ReadOnlyMemory<byte> ForwardedHead => _forwardedHead.AsMemory(0, _forwardedLength);

    /// <summary>Reads one request head from the app, leaving anything after it (a body, a TLS hello) in <paramref name="reader"/>.</summary>
    /// <returns>The request, or <see langword="null"/> when the app closed the connection before sending anything.</returns>
    /// <exception cref="ProxyRequestException">The head is malformed or larger than <paramref name="maxHeadBytes"/>.</exception>
    public static async ValueTask<ProxyRequest?> ReadAsync(PipeReader reader, int maxHeadBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var sequence = new SequenceReader<byte>(buffer);
            if (sequence.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8))
            {
                try
                {
                    return head.Length + 4 > maxHeadBytes ? throw TooLarge(maxHeadBytes) : SequenceParsing.Parse(head, s_parse);
                }
                finally
                {
                    reader.AdvanceTo(sequence.Position);
                }
            }

            if (buffer.Length >= maxHeadBytes)
            {
                reader.AdvanceTo(buffer.Start);
                throw TooLarge(maxHeadBytes);
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return buffer.IsEmpty
                    ? null
                    : throw ProxyRequestException.BadRequest($"the connection ended {buffer.Length} bytes into the request head, before its blank line");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public void Dispose()
    {
        if (_forwardedHead is { } head)
        {
            _forwardedHead = null;
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private static ProxyRequestException TooLarge(int maxHeadBytes) =>
        ProxyRequestException.BadRequest($"the request head is larger than {maxHeadBytes} bytes");

    // head: everything before the blank line, lines separated by CRLF.
    private static ProxyRequest Parse(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var headers = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        var (method, target) = SplitRequestLine(requestLine, out var version);
        var contentLength = false;
        var transferEncoding = false;
        var connectionTokens = new List<string>();
        var offset = requestLine.Length + 2;
        if (!headers.IsEmpty)
        {
            foreach (var range in headers.Split("\r\n"u8))
            {
                var name = SplitHeader(headers[range], offset + range.Start.GetOffset(headers.Length), out var value);
                contentLength |= Ascii.EqualsIgnoreCase(name, "content-length"u8);
                transferEncoding |= Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8);
                if (Ascii.EqualsIgnoreCase(name, "connection"u8))
                {
                    connectionTokens.AddRange(Encoding.Latin1.GetString(value).ToLowerInvariant().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                }
            }
        }

        if (contentLength && transferEncoding)
        {
            throw ProxyRequestException.BadRequest("the request has both Content-Length and Transfer-Encoding");
        }

        if (method == "CONNECT")
        {
            return new ProxyRequest(method, ParseAuthority(target, defaultPort: null), null, 0);
        }

        var (egress, authority, originForm) = SplitAbsoluteForm(target);
        return Rewrite(method, egress, authority, originForm, version, headers, connectionTokens);
    }

    private static (string Method, string Target) SplitRequestLine(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> version)
    {
        var firstSpace = line.IndexOf((byte)' ');
        var lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace == firstSpace)
        {
            throw ProxyRequestException.BadRequest("the request line is not 'METHOD target HTTP/1.x'");
        }

        var method = line[..firstSpace];
        var target = line[(firstSpace + 1)..lastSpace];
        version = line[(lastSpace + 1)..];
        if (method.ContainsAnyExcept(s_tokenChars))
        {
            throw ProxyRequestException.BadRequest($"the method has a character that is not allowed at offset {method.IndexOfAnyExcept(s_tokenChars)}");
        }

        var bad = target.IndexOfAnyExceptInRange((byte)'!', (byte)'~');
        if (target.IsEmpty || bad >= 0)
        {
            throw ProxyRequestException.BadRequest(target.IsEmpty
                ? "the request target is empty"
                : $"the request target has a byte that is not visible ASCII at offset {firstSpace + 1 + bad}");
        }

        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
        {
            throw ProxyRequestException.BadRequest($"the request line ends in '{Encoding.Latin1.GetString(version)}', expected HTTP/1.1 or HTTP/1.0");
        }

        return (Encoding.ASCII.GetString(method), Encoding.ASCII.GetString(target));
    }

    private static ReadOnlySpan<byte> SplitHeader(ReadOnlySpan<byte> line, int offset, out ReadOnlySpan<byte> value)
    {
        var colon = line.IndexOf((byte)':');
        if (line.IsEmpty || line[0] is (byte)' ' or (byte)'\t')
        {
            throw ProxyRequestException.BadRequest($"obsolete line folding or an empty header line at offset {offset}");
        }

        if (colon <= 0 || line[..colon].ContainsAnyExcept(s_tokenChars))
        {
            throw ProxyRequestException.BadRequest($"the header line at offset {offset} has no 'name:' (a token, no space before the colon)");
        }

        value = line[(colon + 1)..];
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] is < 0x20 and not (byte)'\t' or 0x7F)
            {
                throw ProxyRequestException.BadRequest($"the header value at offset {offset + colon + 1 + i} has control character 0x{value[i]:X2}");
            }
        }

        value = value.Trim(" \t"u8);
        return line[..colon];
    }

    private static EgressRequest ParseAuthority(string authority, int? defaultPort)
    {
        var hasPort = authority.StartsWith('[') ? authority.Contains("]:", StringComparison.Ordinal) : authority.Contains(':', StringComparison.Ordinal);
        try
        {
            return EgressRequest.Parse(hasPort || defaultPort is null ? authority : $"{authority}:{defaultPort}");
        }
        catch (FormatException ex)
        {
            throw ProxyRequestException.BadRequest($"the target '{authority}' is not host:port: {ex.Message}");
        }
    }

    private static (EgressRequest Target, string Authority, string OriginForm) SplitAbsoluteForm(string target)
    {
        const string Scheme = "http://";
        if (!target.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw ProxyRequestException.BadRequest(target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? "an https:// URL goes through CONNECT; the proxy forwards only http:// requests itself"
                : $"the proxy needs an absolute http:// URL or CONNECT host:port, not '{target}'");
        }

        if (target.Contains('#', StringComparison.Ordinal))
        {
            throw ProxyRequestException.BadRequest("the request target has a fragment ('#'), which is never sent");
        }

        var rest = target.AsSpan(Scheme.Length);
        var end = rest.IndexOfAny('/', '?');
        var authority = (end < 0 ? rest : rest[..end]).ToString();
        if (authority.Contains('@', StringComparison.Ordinal))
        {
            throw ProxyRequestException.BadRequest("the URL carries user information ('@' in the authority)");
        }

        var path = end < 0 ? "/" : rest[end] == '?' ? $"/{rest[end..]}" : rest[end..].ToString();
        return (ParseAuthority(authority, defaultPort: 80), authority, path);
    }

    private static ProxyRequest Rewrite(string method, EgressRequest target, string authority, string originForm, ReadOnlySpan<byte> version, ReadOnlySpan<byte> headers, List<string> connectionTokens)
    {
        // The rewritten head is never longer than the original plus a Host line and the Connection line.
        var buffer = ArrayPool<byte>.Shared.Rent(method.Length + originForm.Length + authority.Length + headers.Length + 64);
        var length = 0;
        Append(buffer, ref length, $"{method} {originForm} ");
        Append(buffer, ref length, version);
        Append(buffer, ref length, $"\r\nHost: {authority}\r\n");
        if (!headers.IsEmpty)
        {
            foreach (var range in headers.Split("\r\n"u8))
            {
                var line = headers[range];
                var name = Encoding.ASCII.GetString(line[..line.IndexOf((byte)':')]).ToLowerInvariant();
                if (!s_hopByHop.Contains(name) && !connectionTokens.Contains(name))
                {
                    Append(buffer, ref length, line);
                    Append(buffer, ref length, "\r\n"u8);
                }
            }
        }

        Append(buffer, ref length, "Connection: close\r\n\r\n"u8);
        return new ProxyRequest(method, target, buffer, length);
    }

    private static void Append(byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }

    private static void Append(byte[] buffer, ref int length, string text) =>
        length += Encoding.ASCII.GetBytes(text, buffer.AsSpan(length));
}

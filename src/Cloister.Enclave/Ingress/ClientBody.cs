using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The app's response body on its way to the client, then the app's trailers. Kestrel frames the body (HTTP/2 frames, or
/// for HTTP/1.1 a length or its own chunks) and sends HTTP/2 trailers, but it cannot send HTTP/1.1 trailers. So when an
/// HTTP/1.1 client gets the answer of an app that chunked it (only a chunked answer can carry trailers), the chunks are
/// made here instead: Kestrel passes a body whose <c>Transfer-Encoding</c> the handler set as it is, and the app's
/// trailers follow the last chunk.
/// </summary>
internal sealed class ClientBody
{
    // Room before the bytes of a chunk read in place: its length in hex (eight digits is more than any read) and CRLF.
    private const int ChunkHeaderRoom = 8 + 2;

    // Reads in place ask for at least this much room: half of one of Kestrel's 4 KiB buffers, so the chunk header stays
    // a small part of each chunk and no read needs a buffer from outside Kestrel's pool.
    private const int ChunkReadSize = 2048;

    private readonly HttpContext _context;
    private readonly bool _chunksHere;

    public ClientBody(HttpContext context, HttpResponseMessage response)
    {
        _context = context;
        _chunksHere = HttpProtocol.IsHttp11(context.Request.Protocol) && response.Headers.TransferEncodingChunked == true
            && !HttpMethods.IsHead(context.Request.Method) && response.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.NotModified);
    }

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>Sends the headers now, with no body yet.</summary>
    public Task StartAsync()
    {
        ClaimFraming();
        return _context.Response.StartAsync(_context.RequestAborted);
    }

    /// <summary>Sends <paramref name="bytes"/> (as one chunk when chunking here) and flushes; returns whether the client still takes more.</summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes)
    {
        var flush = _chunksHere ? await WriteFramedAsync(bytes, lastChunk: null) : await _context.Response.BodyWriter.WriteAsync(bytes, _context.RequestAborted);
        return !flush.IsCompleted && !flush.IsCanceled;
    }

    /// <summary>
    /// Reads from <paramref name="body"/> straight into Kestrel's output buffer (leaving room for the chunk header when
    /// chunking here) and sends what came at once. Returns whether there may be more: not at the body's end, nor once the
    /// client has gone.
    /// </summary>
    /// <exception cref="IOException">The app broke off.</exception>
    public async ValueTask<bool> CopyOnceAsync(Stream body)
    {
        var output = _context.Response.BodyWriter;
        if (!_chunksHere)
        {
            var read = await body.ReadAsync(output.GetMemory(), _context.RequestAborted);
            if (read == 0)
            {
                return false;
            }

            output.Advance(read);
        }
        else
        {
            var memory = output.GetMemory(ChunkReadSize);
            var read = await body.ReadAsync(memory[ChunkHeaderRoom..^Crlf.Length], _context.RequestAborted);
            if (read == 0)
            {
                return false;
            }

            // The header is rarely the full room: the bytes move up to meet it (a memmove, next to nothing beside TLS).
            Span<byte> header = stackalloc byte[ChunkHeaderRoom];
            var headerLength = FormatChunkHeader(header, read);
            memory.Span.Slice(ChunkHeaderRoom, read).CopyTo(memory.Span[headerLength..]);
            header[..headerLength].CopyTo(memory.Span);
            Crlf.CopyTo(memory.Span[(headerLength + read)..]);
            output.Advance(headerLength + read + Crlf.Length);
        }

        var flush = await output.FlushAsync(_context.RequestAborted);
        return !flush.IsCompleted && !flush.IsCanceled;
    }

    /// <summary>
    /// A body that arrived whole, with its trailers: it leaves in one write. Without trailers, or over HTTP/2, with its
    /// length (framing is per hop, whether or not the app chunked it); to an HTTP/1.1 client with trailers, as one chunk,
    /// the last chunk and the trailers.
    /// </summary>
    public async Task SendWholeAsync(ReadOnlyMemory<byte> bytes, HttpResponseHeaders trailers)
    {
        var fields = TrailerFields(trailers);
        if (_chunksHere && fields.Count > 0)
        {
            await WriteFramedAsync(bytes, fields);
            return;
        }

        if (bytes.Length > 0)
        {
            _context.Response.ContentLength ??= bytes.Length;
            await _context.Response.BodyWriter.WriteAsync(bytes, _context.RequestAborted);
        }

        AppendTrailers(fields);
    }

    /// <summary>Ends a body that was sent as it came: the last chunk and the trailers when chunking here, else Kestrel's trailers.</summary>
    public async Task CompleteAsync(HttpResponseHeaders trailers)
    {
        var fields = TrailerFields(trailers);
        if (_chunksHere)
        {
            await _context.Response.BodyWriter.WriteAsync(LastChunk(fields), _context.RequestAborted);
            return;
        }

        AppendTrailers(fields);
    }

    // One write: Kestrel starts the response with it, so headers and these bytes leave together. A chunk of `bytes` (none
    // when empty), and the last chunk with `lastChunk`'s fields when given.
    private async ValueTask<FlushResult> WriteFramedAsync(ReadOnlyMemory<byte> bytes, List<KeyValuePair<string, StringValues>>? lastChunk)
    {
        ClaimFraming();
        var end = lastChunk is null ? [] : LastChunk(lastChunk);
        var framed = ArrayPool<byte>.Shared.Rent(ChunkHeaderRoom + bytes.Length + Crlf.Length + end.Length);
        try
        {
            var length = 0;
            if (bytes.Length > 0)
            {
                length = FormatChunkHeader(framed, bytes.Length);
                bytes.Span.CopyTo(framed.AsSpan(length));
                length += bytes.Length;
                Crlf.CopyTo(framed.AsSpan(length));
                length += Crlf.Length;
            }

            end.CopyTo(framed.AsSpan(length));
            return await _context.Response.BodyWriter.WriteAsync(framed.AsMemory(0, length + end.Length), _context.RequestAborted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(framed);
        }
    }

    // The app's trailers a client may get: not the ones about the connection or the framing, and none Kestrel would refuse
    // to write (a control character in a value; a name or value HTTP/1.1 cannot carry).
    private static List<KeyValuePair<string, StringValues>> TrailerFields(HttpResponseHeaders trailers)
    {
        var fields = new List<KeyValuePair<string, StringValues>>();
        foreach (var (name, values) in trailers.NonValidated)
        {
            if (HopByHopHeaders.Contains(name, StringValues.Empty) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || !IsToken(name))
            {
                continue;
            }

            var texts = values.ToArray();
            if (texts.All(IsFieldValue))
            {
                fields.Add(new(name, new StringValues(texts)));
            }
        }

        return fields;
    }

    private static bool IsToken(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));

    private static bool IsFieldValue(string value) => value.All(c => c == '\t' || (c >= ' ' && c != '\x7f' && c <= '\xff'));

    private static int FormatChunkHeader(Span<byte> destination, int length)
    {
        length.TryFormat(destination, out var written, "x", CultureInfo.InvariantCulture);
        Crlf.CopyTo(destination[written..]);
        return written + Crlf.Length;
    }

    private static byte[] LastChunk(List<KeyValuePair<string, StringValues>> fields)
    {
        var text = new StringBuilder("0\r\n");
        foreach (var (name, values) in fields)
        {
            foreach (var value in values)
            {
                text.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        return Encoding.Latin1.GetBytes(text.Append("\r\n").ToString());
    }

    // A Transfer-Encoding the handler set makes Kestrel pass the body as it is: the chunks are ours.
    private void ClaimFraming()
    {
        if (_chunksHere && !_context.Response.HasStarted)
        {
            _context.Response.Headers.TransferEncoding = "chunked";
        }
    }

    private void AppendTrailers(List<KeyValuePair<string, StringValues>> fields)
    {
        if (fields.Count == 0 || !_context.Response.SupportsTrailers())
        {
            return;
        }

        foreach (var (name, values) in fields)
        {
            _context.Response.AppendTrailer(name, values);
        }
    }
}

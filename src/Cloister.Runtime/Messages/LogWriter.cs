using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Unicode;

namespace Cloister.Runtime.Messages;

/// <summary>
/// Writes the log stream (enclave side of vsock port 7001) in <see cref="LogRecord"/> framing. Several sources may write at
/// once; each batch of records reaches the stream whole.
/// </summary>
public sealed class LogWriter : IDisposable
{
    private readonly LineWriter _writer;

    /// <summary>Creates a writer.</summary>
    /// <param name="stream">The connection; the writer does not close it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    public LogWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _writer = new LineWriter(stream);
    }

    /// <summary>Writes text as one or more lines: each <c>'\n'</c> in it ends a line, and a final <c>'\n'</c> is optional.</summary>
    /// <param name="source">Where the text came from.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the records are written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is not a defined value.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask WriteLineAsync(LogSource source, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, bytes);
            await WriteLineAsync(source, bytes.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Writes raw output as one or more lines, as <see cref="WriteLineAsync(LogSource, string, CancellationToken)"/> does.</summary>
    /// <param name="source">Where the bytes came from.</param>
    /// <param name="text">The bytes, meant to be UTF-8; what is not becomes U+FFFD.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the records are written.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is not a defined value.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask WriteLineAsync(LogSource source, ReadOnlyMemory<byte> text, CancellationToken cancellationToken = default)
    {
        var batch = new Batch(source) { Buffer = new ReadOnlySequence<byte>(text), Completed = true };
        return text.IsEmpty ? _writer.WriteAsync(batch, FormatEmptyLine, cancellationToken) : _writer.WriteAsync(batch, FormatBatch, cancellationToken);
    }

    /// <summary>
    /// Forwards an app's output until it ends: every line becomes a record, a line longer than
    /// <see cref="LogRecord.MaxTextLength"/> is sent in parts as it arrives, and a last line without <c>'\n'</c> is sent at the end.
    /// </summary>
    /// <param name="source">Which output this is.</param>
    /// <param name="output">The app's output; read to its end but not completed.</param>
    /// <param name="cancellationToken">Stops forwarding.</param>
    /// <returns>A task that completes when the output ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is not a defined value.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task CopyLinesAsync(LogSource source, PipeReader output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        // An undefined source fails here, before any output is consumed, not in the middle of a batch.
        _ = LogRecord.SourceName(source);
        var batch = new Batch(source);
        while (true)
        {
            var result = await output.ReadAsync(cancellationToken);
            batch.Buffer = result.Buffer;
            batch.Completed = result.IsCompleted;
            if (result.IsCompleted || result.Buffer.Length >= LogRecord.MaxTextLength || result.Buffer.PositionOf((byte)'\n') is not null)
            {
                await _writer.WriteAsync(batch, FormatBatch, cancellationToken);
                output.AdvanceTo(batch.Consumed, result.Buffer.End);
            }
            else
            {
                output.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }

            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();

    private static ReadOnlySpan<byte> Utf8Replacement => [0xEF, 0xBF, 0xBD];

    private static void FormatEmptyLine(Batch batch, IBufferWriter<byte> output) => FormatLine(output, batch.Source, default, endsLine: true);

    // Writes a record for every complete line; then, at the end of the input, the rest as a last line, or else a first
    // part of the pending line when it already fills a record. Batch.Consumed tells the caller how far it got.
    private static void FormatBatch(Batch batch, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(batch.Buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            FormatLine(output, batch.Source, line, endsLine: true);
        }

        var rest = reader.UnreadSequence;
        if (batch.Completed)
        {
            if (!rest.IsEmpty)
            {
                FormatLine(output, batch.Source, rest, endsLine: true);
            }

            batch.Consumed = batch.Buffer.End;
        }
        else if (rest.Length >= LogRecord.MaxTextLength)
        {
            var part = rest.Slice(0, Utf8Boundary(rest, LogRecord.MaxTextLength));
            FormatLine(output, batch.Source, part, endsLine: false);
            batch.Consumed = part.End;
        }
        else
        {
            batch.Consumed = reader.Position;
        }
    }

    // The largest cut at or below `length` that does not split a UTF-8 sequence; a run of continuation bytes longer than
    // any character is cut anyway and becomes U+FFFD.
    private static long Utf8Boundary(ReadOnlySequence<byte> text, long length)
    {
        for (var cut = length; cut > length - 4 && cut > 0; cut--)
        {
            if (!IsContinuationByte(text.Slice(cut, 1).FirstSpan[0]))
            {
                return cut;
            }
        }

        return length;
    }

    private static bool IsContinuationByte(byte value) => (value & 0xC0) == 0x80;

    private static void FormatLine(IBufferWriter<byte> output, LogSource source, ReadOnlySequence<byte> line, bool endsLine)
    {
        var name = LogRecord.SourceName(source);
        // The common line: in one segment, valid UTF-8, short enough for one record; it goes out without a copy.
        if (line.IsSingleSegment && line.Length <= LogRecord.MaxTextLength && Utf8.IsValid(line.FirstSpan))
        {
            WriteRecord(output, name, line.FirstSpan, continues: !endsLine);
            return;
        }

        var length = (int)line.Length;
        var contiguous = ArrayPool<byte>.Shared.Rent(length);
        var clean = ArrayPool<byte>.Shared.Rent(length * Utf8Replacement.Length);
        try
        {
            line.CopyTo(contiguous);
            var text = clean.AsSpan(0, Sanitize(contiguous.AsSpan(0, length), clean));
            do
            {
                var cut = text.Length;
                if (cut > LogRecord.MaxTextLength)
                {
                    cut = LogRecord.MaxTextLength;
                    while (IsContinuationByte(text[cut]))
                    {
                        cut--;
                    }
                }

                WriteRecord(output, name, text[..cut], continues: cut < text.Length || !endsLine);
                text = text[cut..];
            }
            while (!text.IsEmpty);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(contiguous);
            ArrayPool<byte>.Shared.Return(clean);
        }
    }

    private static void WriteRecord(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> text, bool continues)
    {
        output.Write(name);
        output.Write(continues ? "+ "u8 : " "u8);
        output.Write(text);
        output.Write("\n"u8);
    }

    // Copies raw bytes as valid UTF-8, each maximal invalid subsequence replaced by U+FFFD as the Unicode standard recommends.
    private static int Sanitize(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        if (Utf8.IsValid(raw))
        {
            raw.CopyTo(destination);
            return raw.Length;
        }

        var written = 0;
        while (!raw.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(raw, out _, out var consumed);
            var copy = status == OperationStatus.Done ? raw[..consumed] : Utf8Replacement;
            copy.CopyTo(destination[written..]);
            written += copy.Length;
            raw = raw[consumed..];
        }

        return written;
    }

    private sealed class Batch(LogSource source)
    {
        public LogSource Source { get; } = source;

        public ReadOnlySequence<byte> Buffer { get; set; }

        public bool Completed { get; set; }

        public SequencePosition Consumed { get; set; }
    }
}

using System.IO.Pipelines;

namespace Cloister.Runtime.Messages;

/// <summary>Reads messages that travel one per <c>'\n'</c>-terminated line, each line bounded in length.</summary>
/// <typeparam name="T">The message type.</typeparam>
public abstract class LineMessageReader<T>
    where T : class
{
    private readonly PipeReader _reader;
    private readonly int _maxLineLength;
    private readonly string _what;
    private readonly SpanParser<T> _parse;

    private protected LineMessageReader(PipeReader reader, int maxLineLength, string what, SpanParser<T> parse)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _reader = reader;
        _maxLineLength = maxLineLength;
        _what = what;
        _parse = parse;
    }

    private protected LineMessageReader(Stream stream, int maxLineLength, string what, SpanParser<T> parse)
        : this(PipeReader.Create(stream ?? throw new ArgumentNullException(nameof(stream)), new StreamPipeReaderOptions(leaveOpen: true)), maxLineLength, what, parse)
    {
    }

    /// <summary>Reads the next message.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The message, or <see langword="null"/> when the peer closed the stream between lines.</returns>
    /// <exception cref="InvalidDataException">The line is too long or not a valid message; the message says what is wrong.</exception>
    /// <exception cref="EndOfStreamException">The stream ended inside a line.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<T?> ReadAsync(CancellationToken cancellationToken = default) =>
        LineFraming.ReadLineAsync(_reader, _maxLineLength, _what, _parse, cancellationToken);
}

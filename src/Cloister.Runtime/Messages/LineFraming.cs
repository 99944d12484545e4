using System.Buffers;
using System.IO.Pipelines;

namespace Cloister.Runtime.Messages;

/// <summary>The reading side every line protocol on the vsock ports shares: bounded <c>'\n'</c>-terminated lines from a <see cref="PipeReader"/>.</summary>
internal static class LineFraming
{
    /// <summary>
    /// Reads the next line and parses it, consuming exactly the line and its <c>'\n'</c>: what follows stays in the
    /// reader, which matters for egress, where raw bytes follow the request line.
    /// </summary>
    /// <returns>The message, or <see langword="null"/> when the stream ended cleanly between lines.</returns>
    /// <exception cref="InvalidDataException">The line exceeds <paramref name="maxLength"/> bytes or the parser rejects it.</exception>
    /// <exception cref="EndOfStreamException">The stream ended inside a line.</exception>
    public static async ValueTask<T?> ReadLineAsync<T>(PipeReader reader, int maxLength, string what, SpanParser<T> parse, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                var line = buffer.Slice(0, newline);
                if (line.Length > maxLength)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw Overlong(what, maxLength);
                }

                try
                {
                    return SequenceParsing.Parse(line, parse);
                }
                finally
                {
                    reader.AdvanceTo(buffer.GetPosition(1, newline));
                }
            }

            if (buffer.Length > maxLength)
            {
                reader.AdvanceTo(buffer.Start);
                throw Overlong(what, maxLength);
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return buffer.IsEmpty
                    ? null
                    : throw new EndOfStreamException($"{what}: the stream ended {buffer.Length} bytes into a line, before its '\\n'");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static InvalidDataException Overlong(string what, int maxLength) =>
        new($"{what}: line longer than {maxLength} bytes");
}

using System.IO.Pipelines;
using System.Text;

namespace Cloister.Runtime.Messages;

/// <summary>Reads the log stream (host side of vsock port 7001).</summary>
public sealed class LogReader : LineMessageReader<LogRecord>
{
    /// <summary>Creates a reader over a pipe.</summary>
    /// <param name="reader">The connection's reader; the reader does not complete it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    public LogReader(PipeReader reader)
        : base(reader, LogRecord.MaxLineLength, "log record", Parse)
    {
    }

    /// <summary>Creates a reader over a stream.</summary>
    /// <param name="stream">The connection; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    public LogReader(Stream stream)
        : base(stream, LogRecord.MaxLineLength, "log record", Parse)
    {
    }

    /// <summary>Parses one record line (without its <c>'\n'</c>).</summary>
    /// <param name="line">The bytes.</param>
    /// <returns>The record; text that is not UTF-8 is decoded with U+FFFD.</returns>
    /// <exception cref="InvalidDataException">The line does not start with a known source and a space, or its text is too long.</exception>
    public static LogRecord Parse(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        if (space < 0)
        {
            throw new InvalidDataException("log record: no space after the source name");
        }

        var name = line[..space];
        var continues = name.EndsWith("+"u8);
        if (continues)
        {
            name = name[..^1];
        }

        var source = name.SequenceEqual("stdout"u8) ? LogSource.Stdout
            : name.SequenceEqual("stderr"u8) ? LogSource.Stderr
            : name.SequenceEqual("supervisor"u8) ? LogSource.Supervisor
            : throw new InvalidDataException($"log record: unknown source '{Encoding.UTF8.GetString(name)}' at offset 0 (expected stdout, stderr or supervisor)");
        var text = line[(space + 1)..];
        return text.Length > LogRecord.MaxTextLength
            ? throw new InvalidDataException($"log record: the text at offset {space + 1} is {text.Length} bytes, a record carries at most {LogRecord.MaxTextLength}")
            : new LogRecord(source, Encoding.UTF8.GetString(text), continues);
    }
}

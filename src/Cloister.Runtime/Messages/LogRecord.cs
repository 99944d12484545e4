namespace Cloister.Runtime.Messages;

/// <summary>
/// One record of the log stream (vsock port 7001). On the wire: <c>&lt;source&gt; &lt;text&gt;\n</c>, or
/// <c>&lt;source&gt;+ &lt;text&gt;\n</c> when the line was longer than <see cref="MaxTextLength"/> bytes and continues in
/// the next record from the same source. The text is UTF-8; bytes that were not are replaced by U+FFFD.
/// </summary>
/// <param name="Source">Where the line came from.</param>
/// <param name="Text">The text, without a line terminator.</param>
/// <param name="Continues">Whether the line goes on in the next record from <paramref name="Source"/>.</param>
public sealed record LogRecord(LogSource Source, string Text, bool Continues)
{
    /// <summary>The most text bytes one record carries; longer lines are split.</summary>
    public const int MaxTextLength = 8 * 1024;

    /// <summary>The longest record line: the longest source name, <c>'+'</c>, a space and the text.</summary>
    internal const int MaxLineLength = 12 + MaxTextLength;

    internal static ReadOnlySpan<byte> SourceName(LogSource source) => source switch
    {
        LogSource.Stdout => "stdout"u8,
        LogSource.Stderr => "stderr"u8,
        LogSource.Supervisor => "supervisor"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown log source"),
    };
}

using System.IO.Pipelines;
using System.Text;

namespace Cloister.Runtime.Messages;

/// <summary>
/// The host's one-line answer to an <see cref="EgressRequest"/>: <c>OK\n</c>, after which bytes flow both ways, or
/// <c>ERR &lt;reason&gt;\n</c>, after which the host closes the connection. The reason is printable ASCII.
/// </summary>
public sealed class EgressResponse
{
    /// <summary>The longest answer line either side accepts, <c>'\n'</c> excluded.</summary>
    public const int MaxLineLength = 1024;

    private EgressResponse(string? reason)
    {
        Reason = reason;
    }

    /// <summary>The answer that lets the connection through.</summary>
    public static EgressResponse Ok { get; } = new(null);

    /// <summary>Whether the host connected to the destination.</summary>
    public bool IsSuccess => Reason is null;

    /// <summary>Why the host refused or failed, or <see langword="null"/> on success.</summary>
    public string? Reason { get; }

    /// <summary>Creates a refusal.</summary>
    /// <param name="reason">Why: printable ASCII, not empty, at most <see cref="MaxLineLength"/> − 4 characters.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reason"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is empty, too long, or not printable ASCII.</exception>
    public static EgressResponse Error(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return CheckReason(reason) is { } problem ? throw new ArgumentException(problem, nameof(reason)) : new EgressResponse(reason);
    }

    /// <summary>Reads the answer line, leaving the raw bytes after it in <paramref name="reader"/>.</summary>
    /// <param name="reader">The connection's reader.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The line is too long or neither <c>OK</c> nor <c>ERR &lt;reason&gt;</c>.</exception>
    /// <exception cref="EndOfStreamException">The stream ended before the line was complete.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<EgressResponse> ReadAsync(PipeReader reader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return await LineFraming.ReadLineAsync(reader, MaxLineLength, "egress response", Parse, cancellationToken)
            ?? throw new EndOfStreamException("egress response: the host closed the connection without answering");
    }

    /// <summary>Parses an answer line (without its <c>'\n'</c>).</summary>
    /// <param name="line">The bytes.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="InvalidDataException">The line is neither <c>OK</c> nor <c>ERR &lt;reason&gt;</c>.</exception>
    public static EgressResponse Parse(ReadOnlySpan<byte> line)
    {
        if (line.SequenceEqual("OK"u8))
        {
            return Ok;
        }

        if (!line.StartsWith("ERR "u8))
        {
            throw new InvalidDataException("egress response: expected 'OK' or 'ERR <reason>' at offset 0");
        }

        var reason = Encoding.Latin1.GetString(line[4..]);
        return CheckReason(reason) is { } problem ? throw new InvalidDataException($"egress response: {problem}") : new EgressResponse(reason);
    }

    /// <summary>Writes the answer line.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the line is written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask WriteAsync(Stream stream, CancellationToken cancellationToken = default) =>
        LineIO.WriteAsciiLineAsync(stream, ToString(), cancellationToken);

    /// <summary>The answer line without its <c>'\n'</c>.</summary>
    /// <returns><c>OK</c> or <c>ERR &lt;reason&gt;</c>.</returns>
    public override string ToString() => Reason is null ? "OK" : $"ERR {Reason}";

    private static string? CheckReason(string reason)
    {
        if (reason.Length == 0)
        {
            return "the reason after 'ERR ' is empty";
        }

        if (reason.Length > MaxLineLength - 4)
        {
            return $"the reason is {reason.Length} characters, at most {MaxLineLength - 4} fit the line";
        }

        var bad = reason.AsSpan().IndexOfAnyExceptInRange(' ', '~');
        return bad < 0 ? null : $"the reason's character at offset {bad + 4} (U+{(int)reason[bad]:X4}) is not printable ASCII";
    }
}

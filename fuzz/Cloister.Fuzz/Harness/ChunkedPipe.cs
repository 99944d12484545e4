using System.IO.Pipelines;

namespace Cloister.Fuzz.Harness;

/// <summary>
/// Turns an input into a connection for the line and header readers: the first byte sets how many bytes each read
/// returns (0: all at once), so the fuzzer also explores headers and lines that arrive in pieces.
/// </summary>
internal static class ChunkedPipe
{
    public static PipeReader Open(byte[] input)
    {
        var chunk = input.Length == 0 || input[0] == 0 ? int.MaxValue : input[0];
        var body = input.Length == 0 ? input : input[1..];
        return PipeReader.Create(new ChunkedStream(body, chunk), new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1));
    }

    /// <summary>Prefixes a seed body with the chunk-size byte.</summary>
    public static byte[] Frame(byte chunk, ReadOnlySpan<byte> body) => [chunk, .. body];

    /// <summary>
    /// Reads a line-framed stream to its end through <paramref name="read"/>, handing each message to
    /// <paramref name="use"/>; the framing's documented failures (malformed or cut short) end it, anything else escapes.
    /// </summary>
    public static void ReadToEnd<T>(Func<ValueTask<T?>> read, Action<T> use)
        where T : class
    {
        try
        {
            while (read().AsTask().GetAwaiter().GetResult() is { } message)
            {
                use(message);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
        }
    }

    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}

using System.Buffers;

namespace Cloister.Runtime.Messages;

/// <summary>Parses a run of bytes (one line, one request head) into a value.</summary>
/// <typeparam name="T">The parsed value's type.</typeparam>
/// <param name="bytes">The bytes, contiguous.</param>
/// <returns>The value.</returns>
public delegate T SpanParser<out T>(ReadOnlySpan<byte> bytes);

/// <summary>Hands a parser the bytes of a <see cref="ReadOnlySequence{T}"/> as one span, copying only when they span segments.</summary>
public static class SequenceParsing
{
    /// <summary>Parses <paramref name="bytes"/>: in place when it is one segment, else from a pooled copy.</summary>
    /// <typeparam name="T">The parsed value's type.</typeparam>
    /// <param name="bytes">The bytes; at most <see cref="int.MaxValue"/> of them.</param>
    /// <param name="parse">The parser; whatever it throws propagates.</param>
    /// <returns>What <paramref name="parse"/> returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parse"/> is <see langword="null"/>.</exception>
    public static T Parse<T>(in ReadOnlySequence<byte> bytes, SpanParser<T> parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (bytes.IsSingleSegment)
        {
            return parse(bytes.FirstSpan);
        }

        var length = checked((int)bytes.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            bytes.CopyTo(copy);
            return parse(copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }
}

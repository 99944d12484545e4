using System.Buffers;
using System.Buffers.Binary;

namespace Cloister.Runtime.Nsm;

/// <summary>
/// The simulator's NSM wire format, both directions: a u32 big-endian length, then that many CBOR bytes.
/// </summary>
internal static class NsmFrame
{
    public const int HeaderLength = 4;

    public static async ValueTask WriteAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        // One write per frame, so a frame never reaches the peer in two segments from two writers.
        var frame = ArrayPool<byte>.Shared.Rent(HeaderLength + payload.Length);
        try
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
            payload.CopyTo(frame.AsMemory(HeaderLength));
            await stream.WriteAsync(frame.AsMemory(0, HeaderLength + payload.Length), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Reads one frame into <paramref name="destination"/>.</summary>
    /// <returns>The payload length, or -1 when the stream ended cleanly before a new frame.</returns>
    /// <exception cref="InvalidDataException">The frame announces more than <paramref name="maxLength"/> bytes.</exception>
    /// <exception cref="EndOfStreamException">The stream ended inside the frame.</exception>
    public static async ValueTask<int> ReadAsync(Stream stream, Memory<byte> destination, int maxLength, string what, CancellationToken cancellationToken)
    {
        var header = destination[..HeaderLength];
        var headerRead = await stream.ReadAtLeastAsync(header, HeaderLength, throwOnEndOfStream: false, cancellationToken);
        if (headerRead == 0)
        {
            return -1;
        }

        if (headerRead < HeaderLength)
        {
            throw new EndOfStreamException($"{what}: the stream ended after {headerRead} of the {HeaderLength} length bytes");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.Span);
        if (length > maxLength)
        {
            throw new InvalidDataException($"{what}: the frame at offset 0 announces {length} bytes, the limit is {maxLength}");
        }

        var payload = destination[..(int)length];
        var payloadRead = await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false, cancellationToken);
        return payloadRead == payload.Length
            ? payload.Length
            : throw new EndOfStreamException($"{what}: the stream ended after {payloadRead} of the frame's {length} bytes");
    }
}

using System.Buffers.Binary;
using Cloister.Build.Streams;

namespace Cloister.Build.Layers;

/// <summary>
/// Refuses a tar metadata entry (PAX extended header, GNU long name or long link) larger than
/// <see cref="MaxMetadataSize"/> before <see cref="System.Formats.Tar.TarReader"/> reads it: the reader buffers such an
/// entry whole, in an array sized by the header's size field alone, so a few hostile bytes could make it allocate
/// gigabytes.
/// </summary>
/// <remarks>
/// The guard looks at the header block that starts where it was told (<see cref="ExpectHeaderAt"/>) as the block passes
/// through, and follows a chain of metadata entries to the header they describe. Anything else it leaves to the reader.
/// </remarks>
internal sealed class TarMetadataGuard(Stream inner) : ReadOnlyStream
{
    /// <summary>Real metadata is a long path or a few extended attributes; a mebibyte leaves room to spare.</summary>
    public const int MaxMetadataSize = 1 << 20;

    private const int BlockSize = 512;
    private readonly byte[] _header = new byte[BlockSize];
    private long _position;
    private long _nextHeader;
    private int _headerFill;

    protected override long BytesRead => _position;

    /// <summary>Where the next entry's first header block starts (a multiple of 512 from the stream's start).</summary>
    public void ExpectHeaderAt(long offset)
    {
        _nextHeader = offset;
        _headerFill = 0;
    }

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Inspect(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Inspect(buffer.Span[..read]);
        return read;
    }

    private void Inspect(ReadOnlySpan<byte> bytes)
    {
        var start = _position;
        _position += bytes.Length;
        while (_nextHeader >= 0)
        {
            var from = _nextHeader + _headerFill;
            if (from < start || from >= _position)
            {
                return;
            }

            var take = (int)Math.Min(BlockSize - _headerFill, _position - from);
            bytes.Slice((int)(from - start), take).CopyTo(_header.AsSpan(_headerFill));
            _headerFill += take;
            if (_headerFill < BlockSize)
            {
                return;
            }

            CheckHeader();
        }
    }

    private void CheckHeader()
    {
        var type = (char)_header[156];
        var size = Size(_header.AsSpan(124, 12));
        _headerFill = 0;
        if (type is not ('x' or 'g' or 'L' or 'K') || size is not { } length)
        {
            _nextHeader = -1;
            return;
        }

        if (length > MaxMetadataSize)
        {
            throw new InvalidDataException($"a tar metadata entry (type '{type}') of {length} bytes; more than {MaxMetadataSize} is refused");
        }

        _nextHeader += BlockSize + ((length + BlockSize - 1) & ~(long)(BlockSize - 1));
    }

    // The size field: octal digits (space or NUL padded), or base-256 when the first byte has its top bit set.
    private static long? Size(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            var low = BinaryPrimitives.ReadInt64BigEndian(field[^8..]);
            return (field[0] & 0x7F) != 0 || field[1..^8].ContainsAnyExcept((byte)0) || low < 0 ? long.MaxValue : low;
        }

        long value = 0;
        foreach (var digit in field.Trim(" \0"u8))
        {
            if (digit is < (byte)'0' or > (byte)'7')
            {
                return null;
            }

            value = (value << 3) | (long)(digit - '0');
        }

        return value;
    }
}

using Cloister.Build.Streams;

namespace Cloister.Build.Layers;

/// <summary>
/// The layer stream as <see cref="LayerFlattener"/> hands it to <c>TarReader</c>: it counts the bytes consumed and
/// checks each header block as it passes, before <c>TarReader</c> parses it, as Go's <c>archive/tar</c> (Docker's and
/// containerd's reader) does: the checksum must match, and a PAX or GNU metadata entry may not exceed 1 MiB.
/// </summary>
/// <remarks>
/// .NET 10's <c>TarReader</c> checks no header checksum, reads a metadata entry of any size into one array (a 1 KiB
/// header can claim 1 GiB), and takes any block whose checksum field is blank for the end of the archive; checked
/// here, such a block is refused unless it is entirely zero. Each check costs one pass over a 512-byte header.
/// </remarks>
internal sealed class TarHeaderCheckingStream(Stream inner, Func<LayerFailure, long, string, LayerException> fail) : ReadOnlyStream
{
    public const int BlockSize = 512;

    /// <summary>Go's <c>maxSpecialFileSize</c>: the largest PAX or GNU long-name entry it reads.</summary>
    public const int MaxMetadataSize = 1 << 20;

    private const int SizeOffset = 124;
    private const int SizeLength = 12;
    private const int ChecksumOffset = 148;
    private const int ChecksumLength = 8;
    private const int TypeFlagOffset = 156;

    private readonly byte[] _header = new byte[BlockSize];
    private long _headerAt = -1;
    private int _staged;

    /// <summary>Bytes read from the layer so far.</summary>
    public long Consumed { get; private set; }

    protected override long BytesRead => Consumed;

    /// <summary>Checks the block at <paramref name="offset"/>, a block boundary not yet read, as a header (and its metadata chain).</summary>
    public void ExpectHeaderAt(long offset)
    {
        _headerAt = offset;
        _staged = 0;
    }

    public override int Read(Span<byte> buffer) => Observe(buffer, inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Observe(buffer.Span, read);
    }

    /// <summary>
    /// Go's <c>parseNumeric</c> for a non-negative field: base-256 when the first byte's top bit is set, otherwise octal
    /// between optional spaces and NULs. Returns <see langword="null"/> for anything else.
    /// </summary>
    internal static long? ParseNumber(ReadOnlySpan<byte> field)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            if ((field[0] & 0x40) != 0)
            {
                return null;
            }

            long binary = field[0] & 0x3f;
            foreach (var b in field[1..])
            {
                if (binary > (long.MaxValue >> 8))
                {
                    return null;
                }

                binary = (binary << 8) | b;
            }

            return binary;
        }

        var text = field.Trim(" \0"u8);
        if (text.IndexOf((byte)0) is var nul and >= 0)
        {
            text = text[..nul];
        }

        long value = 0;
        foreach (var digit in text)
        {
            if (digit is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                return null;
            }

            value = (value << 3) | (long)(digit - '0');
        }

        return value;
    }

    /// <summary>
    /// Whether the checksum field holds the sum of the header's bytes with the field itself taken as spaces. Like Go
    /// and GNU tar, the sum of the bytes as signed values (what some historic tars wrote) is accepted too.
    /// </summary>
    internal static bool HasValidChecksum(ReadOnlySpan<byte> header)
    {
        var stored = ParseNumber(header.Slice(ChecksumOffset, ChecksumLength));
        long unsigned = ' ' * ChecksumLength;
        long signed = unsigned;
        for (var i = 0; i < BlockSize; i++)
        {
            if (i is < ChecksumOffset or >= ChecksumOffset + ChecksumLength)
            {
                unsigned += header[i];
                signed += (sbyte)header[i];
            }
        }

        return stored == unsigned || stored == signed;
    }

    private int Observe(ReadOnlySpan<byte> buffer, int read)
    {
        var start = Consumed;
        Consumed += read;
        while (_headerAt >= 0 && _headerAt + _staged >= start && _headerAt + _staged < Consumed)
        {
            var from = (int)(_headerAt + _staged - start);
            var length = Math.Min(read - from, BlockSize - _staged);
            buffer.Slice(from, length).CopyTo(_header.AsSpan(_staged));
            _staged += length;
            if (_staged == BlockSize)
            {
                CheckHeader();
            }
        }

        return read;
    }

    /// <summary>
    /// Walks every header of a seekable archive (a <c>docker save</c> file) from its start, seeking over member data,
    /// and applies the checks a layer stream gets: a <c>TarReader</c> on a seekable file reads the same metadata
    /// entries whole. Stops at the first zero block or at a header that claims more than the file holds, which the
    /// reader then reports as truncation.
    /// </summary>
    /// <returns>The reason and byte offset of the first header refused, or <see langword="null"/>.</returns>
    internal static async Task<(string Reason, long Offset)?> ScanAsync(FileStream archive, CancellationToken cancellationToken)
    {
        var header = new byte[BlockSize];
        for (long at = 0; at <= archive.Length - BlockSize;)
        {
            archive.Position = at;
            await archive.ReadExactlyAsync(header, cancellationToken);
            if (!header.AsSpan().ContainsAnyExcept((byte)0))
            {
                return null;
            }

            if (Check(header, out var size) is { } reason)
            {
                return (reason, at);
            }

            if (size > archive.Length - at)
            {
                return null;
            }

            at += BlockSize + RoundUp(size);
        }

        return null;
    }

    /// <summary>
    /// Checks one header block that is not all zeros as Go's <c>archive/tar</c> does before parsing it: its checksum,
    /// and for a PAX or GNU metadata entry the size of its data (which <c>TarReader</c> reads into one array).
    /// </summary>
    /// <param name="header">The 512-byte block.</param>
    /// <param name="size">The entry's data size when it could be read (0 when the field is not a number).</param>
    /// <returns>Why the header is refused, or <see langword="null"/>.</returns>
    private static string? Check(ReadOnlySpan<byte> header, out long size)
    {
        var parsed = ParseNumber(header.Slice(SizeOffset, SizeLength));
        size = parsed ?? 0;
        if (!HasValidChecksum(header))
        {
            return "invalid tar header: its checksum does not match its bytes";
        }

        var kind = MetadataKind(header);
        return kind is null ? null
            : parsed is null ? $"invalid tar header: the {kind}'s size field is not a number"
            : size > MaxMetadataSize ? $"the {kind} claims {size} bytes, more than the {MaxMetadataSize} a tar reader accepts"
            : null;
    }

    /// <summary>What a PAX or GNU metadata header is called, or <see langword="null"/> for any other header.</summary>
    private static string? MetadataKind(ReadOnlySpan<byte> header) => header[TypeFlagOffset] switch
    {
        (byte)'x' => "PAX extended header",
        (byte)'g' => "PAX global header",
        (byte)'L' => "GNU long name",
        (byte)'K' => "GNU long link name",
        _ => null,
    };

    private static long RoundUp(long size) => (size + BlockSize - 1) & ~(long)(BlockSize - 1);

    private void CheckHeader()
    {
        var at = _headerAt;
        _headerAt = -1;
        _staged = 0;
        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            return;
        }

        if (Check(_header, out var size) is { } reason)
        {
            throw fail(LayerFailure.MalformedArchive, at, reason);
        }

        // TarReader reads a metadata entry whole, then the header it applies to: the chain continues past its data.
        if (MetadataKind(_header) is not null)
        {
            ExpectHeaderAt(at + BlockSize + RoundUp(size));
        }
    }
}

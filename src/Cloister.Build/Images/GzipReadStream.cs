using Cloister.Build.Streams;

namespace Cloister.Build.Images;

/// <summary>
/// Decompresses gzip (RFC 1952) as Go's <c>compress/gzip</c> reads a layer for Docker and containerd: one or more
/// members back to back, each with a valid header, CRC-32 and length, nothing after the last one, and not nothing.
/// </summary>
/// <remarks>
/// <see cref="System.IO.Compression.GZipStream"/> reads on past anything after a member that does not start with the
/// gzip magic, and takes a member cut short before its CRC-32 and length for a complete one.
/// </remarks>
internal sealed class GzipReadStream(Stream inner) : ReadOnlyStream
{
    private const byte Magic1 = 0x1f;
    private const byte Magic2 = 0x8b;

    private readonly ZlibInflater _inflater = new();
    private readonly byte[] _input = new byte[1 << 16];
    private int _start;
    private int _end;
    private long _inputOffset;
    private long _memberStart = -1;
    private long _previousEnd;
    private int _members;
    private long _produced;
    private bool _finished;

    protected override long BytesRead => _produced;

    public override int Read(Span<byte> buffer)
    {
        int produced;
        while (!TryInflate(buffer, out produced))
        {
            Refill(inner.Read(_input));
        }

        return produced;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int produced;
        while (!TryInflate(buffer.Span, out produced))
        {
            Refill(await inner.ReadAsync(_input, cancellationToken));
        }

        return produced;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inflater.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Inflates from the buffered input; <see langword="false"/> when it needs more input to say anything.</summary>
    private bool TryInflate(Span<byte> buffer, out int produced)
    {
        produced = 0;
        if (buffer.IsEmpty || _finished)
        {
            return true;
        }

        while (_start < _end)
        {
            if (_memberStart < 0)
            {
                StartMember();
            }

            bool ended;
            try
            {
                ended = _inflater.Inflate(_input.AsSpan(_start, _end - _start), buffer, out var consumed, out produced);
                _start += consumed;
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"gzip member {_members}, from byte {_memberStart}: {ex.Message}", ex);
            }

            _produced += produced;
            if (ended)
            {
                _memberStart = -1;
                _previousEnd = _inputOffset + _start;
            }

            if (produced > 0)
            {
                return true;
            }
        }

        return false;
    }

    private void StartMember()
    {
        // After a member only another may follow (a second magic byte still to come is zlib's to judge).
        if (_members > 0 && (_input[_start] != Magic1 || (_start + 1 < _end && _input[_start + 1] != Magic2)))
        {
            throw new InvalidDataException($"the data after the last gzip member, from byte {_previousEnd}, is not a gzip member");
        }

        _memberStart = _inputOffset + _start;
        _members++;
        _inflater.Restart();
    }

    private void Refill(int read)
    {
        if (read == 0)
        {
            _finished = _memberStart < 0 && _members > 0
                ? true
                : throw new InvalidDataException(_members == 0
                    ? "the gzip stream is empty"
                    : $"the gzip stream ends inside member {_members}, which starts at byte {_memberStart}");
            return;
        }

        _inputOffset += _end;
        _start = 0;
        _end = read;
    }
}

using System.Globalization;
using System.Text;

namespace Cloister.Build.Cpio;

/// <summary>
/// Reads a newc cpio archive entry by entry, streaming file data (like <c>TarReader</c>). Every header field is
/// validated, and names that are absolute or contain a <c>..</c> component are refused, so entries can be
/// extracted under a directory without escaping it.
/// </summary>
public sealed class CpioReader : IDisposable
{
    private const int MaxNameSize = 4096;
    private const int MaxLinkTargetSize = 4096;

    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private long _offset;
    private long _unreadData;
    private int _unreadPadding;
    private bool _ended;

    /// <summary>Creates a reader.</summary>
    /// <param name="input">The archive, read sequentially from its current position.</param>
    /// <param name="leaveOpen">True to leave <paramref name="input"/> open when the reader is disposed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    public CpioReader(Stream input, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        _input = input;
        _leaveOpen = leaveOpen;
    }

    /// <summary>
    /// Reads the next entry, skipping whatever of the previous entry's data was not read. Returns null at the
    /// trailer, after checking that only zero padding follows it.
    /// </summary>
    /// <returns>The entry, or null at the end of the archive.</returns>
    /// <exception cref="CpioFormatException">The archive is malformed.</exception>
    /// <exception cref="IOException">Reading failed.</exception>
    public CpioEntry? GetNextEntry()
    {
        if (_ended)
        {
            return null;
        }

        Skip(_unreadData + _unreadPadding);
        _unreadData = 0;
        _unreadPadding = 0;

        var start = _offset;
        Span<byte> header = stackalloc byte[NewcHeader.Size];
        ReadExactly(header, "an entry header");
        if (!header[..6].SequenceEqual(NewcHeader.Magic))
        {
            throw new CpioFormatException(CpioError.BadMagic, start, $"magic is '{Printable(header[..6])}', expected '070701' (newc)");
        }

        Span<uint> fields = stackalloc uint[NewcHeader.FieldCount];
        for (var i = 0; i < fields.Length; i++)
        {
            var text = header.Slice(6 + (8 * i), 8);
            if (!uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out fields[i]))
            {
                throw new CpioFormatException(CpioError.BadHexField, start + 6 + (8 * i), $"{NewcHeader.FieldNames[i]} is '{Printable(text)}', not eight hex digits");
            }
        }

        var name = ReadName(start, fields[11]);
        var size = fields[6];
        if (name == NewcHeader.TrailerName)
        {
            Skip(size + NewcHeader.PaddingTo4(_offset + size));
            EnsureOnlyPaddingFollows();
            _ended = true;
            return null;
        }

        var mode = (int)fields[1];
        var type = (CpioEntryType)((mode >> 12) & 0xF);
        if (!Enum.IsDefined(type))
        {
            throw new CpioFormatException(CpioError.UnknownFileType, start + 6 + 8, $"c_mode of {name} is 0{Convert.ToString(mode, 8)}, whose file type {(mode >> 12) & 0xF} is unknown");
        }

        string? linkTarget = null;
        if (type == CpioEntryType.SymbolicLink)
        {
            if (size > MaxLinkTargetSize)
            {
                throw new CpioFormatException(CpioError.BadName, start + 6 + (8 * 6), $"the target of symlink {name} is {size} bytes, more than {MaxLinkTargetSize}");
            }

            var target = new byte[size];
            ReadExactly(target, $"the target of symlink {name}");
            linkTarget = Encoding.UTF8.GetString(target);
        }
        else
        {
            _unreadData = size;
        }

        _unreadPadding = NewcHeader.PaddingTo4(_offset + _unreadData);
        var entry = new CpioEntry
        {
            Name = name,
            Type = type,
            Permissions = mode & 0xFFF,
            Uid = fields[2],
            Gid = fields[3],
            ModificationTime = fields[5],
            Size = size,
            LinkTarget = linkTarget,
            RdevMajor = fields[9],
            RdevMinor = fields[10],
            Inode = fields[0],
            LinkCount = fields[4],
            DevMajor = fields[7],
            DevMinor = fields[8],
        };
        entry.DataStream = type == CpioEntryType.RegularFile ? new EntryDataStream(this) : null;
        return entry;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _input.Dispose();
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes) =>
        string.Concat(bytes.ToArray().Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:x2}"));

    private string ReadName(long start, uint nameSize)
    {
        var nameSizeOffset = start + 6 + (8 * 11);
        if (nameSize is 0 or > MaxNameSize)
        {
            throw new CpioFormatException(CpioError.BadName, nameSizeOffset, $"c_namesize is {nameSize}; it must be 1 to {MaxNameSize}");
        }

        var nameOffset = _offset;
        var raw = new byte[nameSize];
        ReadExactly(raw, "an entry name");
        Skip(NewcHeader.PaddingTo4(_offset));
        if (raw[^1] != 0 || raw.AsSpan(0, raw.Length - 1).Contains((byte)0) || nameSize == 1)
        {
            throw new CpioFormatException(CpioError.BadName, nameOffset, $"the name '{Printable(raw)}' is empty, not NUL-terminated, or contains a NUL");
        }

        var name = Encoding.UTF8.GetString(raw, 0, raw.Length - 1);
        if (name.StartsWith('/') || name.Split('/').Contains(".."))
        {
            throw new CpioFormatException(CpioError.UnsafePath, nameOffset, $"the name '{name}' is absolute or has a '..' component");
        }

        return name;
    }

    private void EnsureOnlyPaddingFollows()
    {
        Span<byte> buffer = stackalloc byte[512];
        while (true)
        {
            var read = _input.Read(buffer);
            if (read == 0)
            {
                return;
            }

            var nonZero = buffer[..read].IndexOfAnyExcept((byte)0);
            if (nonZero >= 0)
            {
                throw new CpioFormatException(CpioError.TrailingData, _offset + nonZero, "non-zero bytes follow the TRAILER!!! entry");
            }

            _offset += read;
        }
    }

    private int ReadData(Span<byte> buffer)
    {
        if (_unreadData == 0)
        {
            return 0;
        }

        var wanted = buffer[..(int)Math.Min(buffer.Length, _unreadData)];
        var read = _input.Read(wanted);
        if (read == 0)
        {
            throw new CpioFormatException(CpioError.Truncated, _offset, $"the archive ends with {_unreadData} bytes of file data missing");
        }

        _offset += read;
        _unreadData -= read;
        return read;
    }

    private void ReadExactly(Span<byte> buffer, string what)
    {
        var read = _input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
        {
            throw new CpioFormatException(CpioError.Truncated, _offset + read, $"the archive ends inside {what}");
        }

        _offset += read;
    }

    private void Skip(long count)
    {
        Span<byte> buffer = stackalloc byte[4096];
        while (count > 0)
        {
            var chunk = buffer[..(int)Math.Min(buffer.Length, count)];
            ReadExactly(chunk, "entry data or padding");
            count -= chunk.Length;
        }
    }

    /// <summary>A forward-only view of the current entry's data.</summary>
    private sealed class EntryDataStream(CpioReader reader) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException("use CpioEntry.Size");

        public override long Position
        {
            get => throw new NotSupportedException("an entry's data stream is forward-only");
            set => throw new NotSupportedException("an entry's data stream is forward-only");
        }

        public override int Read(byte[] buffer, int offset, int count) => reader.ReadData(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => reader.ReadData(buffer);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("an entry's data stream is forward-only");

        public override void SetLength(long value) => throw new NotSupportedException("an entry's data stream is read-only");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("an entry's data stream is read-only");
    }
}

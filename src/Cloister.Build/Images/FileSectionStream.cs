using Microsoft.Win32.SafeHandles;

namespace Cloister.Build.Images;

/// <summary>
/// A read-only window onto part of a file (a member of a tar archive), read with positional reads so that any number
/// of windows onto one archive can be open at once.
/// </summary>
internal sealed class FileSectionStream : Stream
{
    private readonly SafeFileHandle _file;
    private readonly long _start;
    private readonly long _length;
    private long _position;

    public FileSectionStream(SafeFileHandle file, long start, long length)
    {
        _file = file;
        _start = start;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var window = Clamp(buffer);
        return Advance(RandomAccess.Read(_file, window, _start + _position), window.Length);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var window = Clamp(buffer);
        return Advance(await RandomAccess.ReadAsync(_file, window, _start + _position, cancellationToken), window.Length);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }

    private Span<byte> Clamp(Span<byte> buffer) => buffer[..(int)Math.Min(buffer.Length, _length - _position)];

    private Memory<byte> Clamp(Memory<byte> buffer) => buffer[..(int)Math.Min(buffer.Length, _length - _position)];

    private int Advance(int read, int requested)
    {
        if (read == 0 && requested > 0)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"archive member ends early: the file is truncated {_length - _position} bytes short");
        }

        _position += read;
        return read;
    }
}

using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Cloister.Build.Layers;

/// <summary>
/// One append-only temporary file holding every regular file's bytes, in layer order. The export walk reads them
/// back in a different (sorted) order, so contents must leave memory; metadata stays in memory.
/// </summary>
internal sealed class ContentSpool : IDisposable
{
    private const int BufferSize = 128 * 1024;

    private readonly SafeFileHandle _handle;
    private long _length;

    public ContentSpool(string directory)
    {
        var path = Path.Combine(directory, $"cloister-layers-{Path.GetRandomFileName()}.spool");
        // DeleteOnClose removes the file even when the process dies between Dispose calls on Linux (unlinked on close).
        _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
    }

    /// <summary>Bytes appended so far.</summary>
    public long Length => _length;

    /// <summary>Copies exactly <paramref name="length"/> bytes from <paramref name="source"/>; returns how many it got.</summary>
    public async ValueTask<long> AppendAsync(Stream source, long length, bool useAsync, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long copied = 0;
            while (copied < length)
            {
                var want = (int)Math.Min(buffer.Length, length - copied);
                var read = useAsync
                    ? await source.ReadAsync(buffer.AsMemory(0, want), cancellationToken)
                    : source.Read(buffer, 0, want);
                if (read == 0)
                {
                    break;
                }

                if (useAsync)
                {
                    await RandomAccess.WriteAsync(_handle, buffer.AsMemory(0, read), _length + copied, cancellationToken);
                }
                else
                {
                    RandomAccess.Write(_handle, buffer.AsSpan(0, read), _length + copied);
                }

                copied += read;
            }

            _length += copied;
            return copied;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Stream OpenRead(long offset, long length) => new SpoolReadStream(_handle, offset, length);

    public void Dispose() => _handle.Dispose();
}

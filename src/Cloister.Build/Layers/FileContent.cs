namespace Cloister.Build.Layers;

/// <summary>
/// The bytes of a regular file: a range of the content spool, a small buffer the build itself supplies, or a file
/// the build adds from disk (the supervisor bundle), opened only when the ramdisk is written.
/// </summary>
internal sealed class FileContent
{
    public static readonly FileContent Empty = new(ReadOnlyMemory<byte>.Empty);

    private readonly Func<Stream> _open;

    public FileContent(ContentSpool spool, long offset, long length)
        : this(() => spool.OpenRead(offset, length), length)
    {
    }

    public FileContent(ReadOnlyMemory<byte> bytes)
        : this(() => new MemoryContentStream(bytes), bytes.Length)
    {
    }

    public FileContent(Func<Stream> open, long length)
    {
        _open = open;
        Length = length;
    }

    public long Length { get; }

    public Stream OpenRead() => _open();
}

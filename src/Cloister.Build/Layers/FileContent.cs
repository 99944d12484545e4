namespace Cloister.Build.Layers;

/// <summary>The bytes of a regular file: a range of the content spool, or a small buffer the build itself supplies.</summary>
internal sealed class FileContent
{
    public static readonly FileContent Empty = new(ReadOnlyMemory<byte>.Empty);

    private readonly ContentSpool? _spool;
    private readonly long _offset;
    private readonly ReadOnlyMemory<byte> _bytes;

    public FileContent(ContentSpool spool, long offset, long length)
    {
        _spool = spool;
        _offset = offset;
        Length = length;
    }

    public FileContent(ReadOnlyMemory<byte> bytes)
    {
        _bytes = bytes;
        Length = bytes.Length;
    }

    public long Length { get; }

    public Stream OpenRead() => _spool is null ? new MemoryContentStream(_bytes) : _spool.OpenRead(_offset, Length);
}

using System.Formats.Tar;

namespace Cloister.Build.Images;

/// <summary>
/// One member of a tar archive, read in place: the archive is opened, its headers are skipped through (the file is
/// seekable, so member data is never read) up to the member, and the member's data stream is handed out. Disposing it
/// closes the archive.
/// </summary>
internal sealed class TarMemberStream : ReadOnlyStream
{
    private readonly FileStream _archive;
    private readonly TarReader _reader;
    private readonly Stream _data;

    private TarMemberStream(FileStream archive, TarReader reader, Stream data)
    {
        _archive = archive;
        _reader = reader;
        _data = data;
    }

    public override long Length => _data.Length;

    protected override long BytesRead => _data.Position;

    /// <summary>
    /// Opens the first member whose normalized name is <paramref name="name"/>, taking ownership of
    /// <paramref name="archive"/>; returns <see langword="null"/> (and closes the archive) when there is none.
    /// </summary>
    public static async Task<TarMemberStream?> OpenAsync(FileStream archive, string name, Func<string, string> normalize, CancellationToken cancellationToken)
    {
        var reader = new TarReader(archive, leaveOpen: true);
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (entry.DataStream is { } data && normalize(entry.Name) == name)
                {
                    return new TarMemberStream(archive, reader, data);
                }
            }
        }
        catch
        {
            await reader.DisposeAsync();
            await archive.DisposeAsync();
            throw;
        }

        await reader.DisposeAsync();
        await archive.DisposeAsync();
        return null;
    }

    public override int Read(Span<byte> buffer) => _data.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _data.ReadAsync(buffer, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader.Dispose();
            _archive.Dispose();
        }

        base.Dispose(disposing);
    }
}

using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.Xz;
using ZstdSharp;

namespace Cloister.RuntimeBundler;

/// <summary>
/// Reads a Debian binary package (<c>deb(5)</c>): an <c>ar</c> archive of <c>debian-binary</c> (format 2.x),
/// <c>control.tar[.gz|.xz|.zst]</c> and <c>data.tar[.gz|.xz|.zst]</c>, in that order, and extracts its data tarball.
/// </summary>
public static class DebArchive
{
    private const string GlobalHeader = "!<arch>\n";
    private const int MemberHeaderLength = 60;

    /// <summary>Extracts the files, directories and symbolic links of a <c>.deb</c>'s data tarball below a directory.</summary>
    /// <param name="deb">The <c>.deb</c> file.</param>
    /// <param name="root">The directory that stands for <c>/</c>; created when missing. It may already hold other packages' files.</param>
    /// <param name="cancellationToken">Cancels the extraction.</param>
    /// <returns>A task that completes when the data tarball is extracted.</returns>
    /// <exception cref="FormatException">
    /// The file is not a <c>.deb</c>, is truncated, or its data tarball holds an absolute or <c>..</c> path, a path through a
    /// symbolic link, a name already extracted, a hard link, a device or a FIFO; the message names the file and the entry.
    /// Entries before the refused one are left extracted.
    /// </exception>
    /// <exception cref="IOException">The file cannot be read or the root cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The root is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task ExtractDataAsync(string deb, string root, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deb);
        await using var file = new FileStream(deb, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        await ExtractDataAsync(file, deb, root, cancellationToken);
    }

    /// <summary>Extracts the files, directories and symbolic links of a <c>.deb</c>'s data tarball below a directory.</summary>
    /// <param name="deb">The <c>.deb</c>, read once from its current position.</param>
    /// <param name="name">What errors call the package (its file name).</param>
    /// <param name="root">The directory that stands for <c>/</c>; created when missing. It may already hold other packages' files.</param>
    /// <param name="cancellationToken">Cancels the extraction.</param>
    /// <returns>A task that completes when the data tarball is extracted.</returns>
    /// <exception cref="FormatException">
    /// The stream is not a <c>.deb</c>, is truncated, or its data tarball holds an absolute or <c>..</c> path, a path through a
    /// symbolic link, a name already extracted, a hard link, a device or a FIFO; the message names the package and the entry.
    /// Entries before the refused one are left extracted.
    /// </exception>
    /// <exception cref="IOException">The stream cannot be read or the root cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The root is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task ExtractDataAsync(Stream deb, string name, string root, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deb);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentException.ThrowIfNullOrEmpty(root);
        var reader = new ArReader(deb, name);
        await reader.ReadGlobalHeaderAsync(cancellationToken);

        var (binaryName, binarySize) = await reader.NextMemberAsync(cancellationToken);
        if (binaryName != "debian-binary")
        {
            throw new DebFormatException($"{name}: the first member is '{binaryName}', not debian-binary");
        }

        var version = await reader.ReadMemberAsync(binarySize, maxLength: 64, cancellationToken);
        if (!version.StartsWith("2.", StringComparison.Ordinal))
        {
            throw new DebFormatException($"{name}: debian-binary says format '{Printable.Of(version.TrimEnd())}', not 2.x");
        }

        var (controlName, controlSize) = await reader.NextMemberAsync(cancellationToken);
        if (Compression(controlName, "control.tar") is null)
        {
            throw new DebFormatException($"{name}: the second member is '{controlName}', not control.tar[.gz|.xz|.zst]");
        }

        await reader.SkipMemberAsync(controlSize, cancellationToken);

        var (dataName, dataSize) = await reader.NextMemberAsync(cancellationToken);
        var compression = Compression(dataName, "data.tar")
            ?? throw new DebFormatException($"{name}: the third member is '{dataName}', not data.tar[.gz|.xz|.zst]");
        await using var data = Decompress(new MemberStream(deb, dataSize, $"{name}: {dataName}"), compression);
        var target = new ExtractionRoot(root);
        await using var tar = new TarReader(data);
        try
        {
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                await target.AddAsync(entry, $"{name}: {dataName}", cancellationToken);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or (FormatException and not DebFormatException) or EndOfStreamException
            or SharpCompress.Common.SharpCompressException or ZstdException)
        {
            // What the decompressors and TarReader throw for bytes that are not what they claim.
            throw new DebFormatException($"{name}: {dataName} is malformed: {ex.Message}", ex);
        }
    }

    /// <summary>The compression of <c>{stem}</c>, <c>{stem}.gz</c>, <c>.xz</c> or <c>.zst</c>: <c>""</c> for none, <see langword="null"/> when the name is none of these.</summary>
    private static string? Compression(string member, string stem) => member switch
    {
        _ when member == stem => "",
        _ when member.StartsWith(stem + ".", StringComparison.Ordinal) && member[(stem.Length + 1)..] is "gz" or "xz" or "zst" => member[(stem.Length + 1)..],
        _ => null,
    };

    private static Stream Decompress(Stream member, string compression) => compression switch
    {
        "gz" => new GZipStream(member, CompressionMode.Decompress),
        "xz" => new XZStream(member),
        "zst" => new DecompressionStream(member),
        _ => member,
    };

    /// <summary>The members of an <c>ar</c> archive in order, read from a stream that need not seek.</summary>
    private sealed class ArReader(Stream stream, string name)
    {
        private long _offset;

        public async Task ReadGlobalHeaderAsync(CancellationToken cancellationToken)
        {
            var header = await ReadExactlyAsync(GlobalHeader.Length, "the ar header", cancellationToken);
            if (Encoding.ASCII.GetString(header) != GlobalHeader)
            {
                throw new DebFormatException($"{name}: not an ar archive (a .deb starts with '!<arch>')");
            }
        }

        public async Task<(string Name, long Size)> NextMemberAsync(CancellationToken cancellationToken)
        {
            // Members start on even offsets: an odd-sized member is followed by one padding byte.
            if (_offset % 2 == 1)
            {
                await ReadExactlyAsync(1, "padding", cancellationToken);
            }

            var at = _offset;
            var header = await ReadExactlyAsync(MemberHeaderLength, "a member header", cancellationToken);
            if (header[58] != (byte)'`' || header[59] != (byte)'\n')
            {
                throw new DebFormatException($"{name}: the ar member header at byte {at} does not end in '`\\n'");
            }

            // GNU ar ends names with '/'; dpkg-deb pads them with spaces.
            var memberName = Encoding.ASCII.GetString(header, 0, 16).TrimEnd(' ');
            memberName = memberName.EndsWith('/') ? memberName[..^1] : memberName;
            if (memberName.Length == 0 || memberName.Contains('/', StringComparison.Ordinal) || memberName is "." or ".." || memberName.Any(c => c is < ' ' or > '~'))
            {
                throw new DebFormatException($"{name}: the ar member at byte {at} has the name '{Printable.Of(memberName)}', which no .deb member has");
            }

            var sizeText = Encoding.ASCII.GetString(header, 48, 10).TrimEnd(' ');
            if (sizeText.Length == 0 || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                throw new DebFormatException($"{name}: the ar member '{memberName}' has the size '{Printable.Of(sizeText)}', not a decimal number");
            }

            return (memberName, size);
        }

        public async Task<string> ReadMemberAsync(long size, int maxLength, CancellationToken cancellationToken)
        {
            if (size > maxLength)
            {
                throw new DebFormatException($"{name}: debian-binary holds {size} bytes, more than a format version's {maxLength}");
            }

            return Encoding.ASCII.GetString(await ReadExactlyAsync((int)size, "debian-binary", cancellationToken));
        }

        public async Task SkipMemberAsync(long size, CancellationToken cancellationToken)
        {
            await using var member = new MemberStream(stream, size, $"{name}: a member");
            await member.CopyToAsync(Stream.Null, cancellationToken);
            _offset += size;
        }

        private async Task<byte[]> ReadExactlyAsync(int count, string what, CancellationToken cancellationToken)
        {
            var buffer = new byte[count];
            var read = await stream.ReadAtLeastAsync(buffer, count, throwOnEndOfStream: false, cancellationToken);
            if (read < count)
            {
                throw new DebFormatException($"{name}: truncated in {what} at byte {_offset + read}");
            }

            _offset += count;
            return buffer;
        }
    }

    /// <summary>Exactly one member's bytes: fewer in the archive is a truncation, more are never read.</summary>
    private sealed class MemberStream(Stream archive, long length, string what) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        // The xz decoder aligns its blocks by the position it has read to.
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position == length || buffer.IsEmpty)
            {
                return 0;
            }

            return Counted(archive.Read(buffer[..Window(buffer.Length)]));
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == length || buffer.IsEmpty)
            {
                return 0;
            }

            return Counted(await archive.ReadAsync(buffer[..Window(buffer.Length)], cancellationToken));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Window(int requested) => (int)Math.Min(requested, length - _position);

        private int Counted(int read)
        {
            if (read == 0)
            {
                throw new DebFormatException($"{what}: truncated, {length - _position} bytes missing");
            }

            _position += read;
            return read;
        }
    }
}

using System.Buffers;

namespace Cloister.Runtime.Files;

/// <summary>
/// Reads a whole input file that a user named, never more than a stated number of bytes. A named file can be
/// anything (<c>/dev/zero</c>, a pipe, a symbolic link to a device, a multi-gigabyte mistake), so every input that is
/// read whole goes through here with the limit that suits its kind (<see cref="FileSizeLimits"/>): memory stays
/// bounded by that limit, and an endless source ends after at most one byte past it.
/// </summary>
public static class BoundedFile
{
    /// <summary>Reads at most <paramref name="maxBytes"/> bytes of <paramref name="path"/>.</summary>
    /// <param name="path">The file; symbolic links are followed, devices and pipes are read like files.</param>
    /// <param name="maxBytes">The most bytes the file may hold.</param>
    /// <param name="what">What the file is, for the error: "the manifest", "--private-key".</param>
    /// <exception cref="FileTooLargeException">The file holds more than <paramref name="maxBytes"/> bytes.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (including <see cref="FileNotFoundException"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static byte[] ReadAllBytes(string path, int maxBytes, string what)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        using var stream = Open(path);
        return ReadCoreAsync(stream, path, maxBytes, what, useAsync: false, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <inheritdoc cref="ReadAllBytes"/>
    /// <param name="path">The file; symbolic links are followed, devices and pipes are read like files.</param>
    /// <param name="maxBytes">The most bytes the file may hold.</param>
    /// <param name="what">What the file is, for the error: "the manifest", "--private-key".</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <exception cref="OperationCanceledException">The read was cancelled.</exception>
    public static async Task<byte[]> ReadAllBytesAsync(string path, int maxBytes, string what, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        await using var stream = Open(path);
        return await ReadCoreAsync(stream, path, maxBytes, what, useAsync: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads at most <paramref name="maxBytes"/> bytes of <paramref name="path"/> as UTF-8 text.</summary>
    /// <inheritdoc cref="ReadAllBytes" path="/param"/>
    /// <inheritdoc cref="ReadAllBytes" path="/exception"/>
    public static string ReadAllText(string path, int maxBytes, string what) =>
        System.Text.Encoding.UTF8.GetString(ReadAllBytes(path, maxBytes, what));

    private static FileStream Open(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);

    // One core for both, as LayerFlattener: without useAsync every read completes synchronously.
    private static async Task<byte[]> ReadCoreAsync(FileStream stream, string path, int maxBytes, string what, bool useAsync, CancellationToken cancellationToken)
    {
        // A regular file states its length: refuse an oversized one before reading a byte of it.
        if (stream.CanSeek && stream.Length > maxBytes)
        {
            throw new FileTooLargeException(path, what, maxBytes);
        }

        if (stream.CanSeek && stream.Length > 0)
        {
            return await ReadStatedLengthAsync(stream, path, (int)stream.Length, useAsync, cancellationToken).ConfigureAwait(false);
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)maxBytes + 1, 64 * 1024));
        try
        {
            var filled = 0;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (filled == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)maxBytes + 1, (long)buffer.Length * 2));
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var free = buffer.AsMemory(filled, Math.Min(buffer.Length, maxBytes + 1) - filled);
                var count = useAsync ? await stream.ReadAsync(free, cancellationToken).ConfigureAwait(false) : stream.Read(free.Span);
                if (count == 0)
                {
                    return buffer.AsSpan(0, filled).ToArray();
                }

                filled += count;
                if (filled > maxBytes)
                {
                    throw new FileTooLargeException(path, what, maxBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // A file that states its length is read straight into an array of that size: a large input (the 21 MiB runtime
    // bundle) is held once, not in a pooled buffer rounded up to a power of two and then copied.
    private static async Task<byte[]> ReadStatedLengthAsync(FileStream stream, string path, int length, bool useAsync, CancellationToken cancellationToken)
    {
        var content = new byte[length];
        var filled = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var free = filled < length ? content.AsMemory(filled) : new byte[1];
            var count = useAsync ? await stream.ReadAsync(free, cancellationToken).ConfigureAwait(false) : stream.Read(free.Span);
            if (count == 0)
            {
                return filled == length ? content : content[..filled];
            }

            if (filled == length)
            {
                throw new IOException($"{path} grew while it was read (it stated {length} bytes)");
            }

            filled += count;
        }
    }
}

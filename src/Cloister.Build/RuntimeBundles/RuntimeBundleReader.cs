using System.Buffers;
using System.Security.Cryptography;

namespace Cloister.Build.RuntimeBundles;

/// <summary>Reads a bundle forward once, hashing every byte it hands out into the bundle's digest.</summary>
internal sealed class RuntimeBundleReader(Stream input, long length, string source) : IDisposable
{
    private const int ChunkSize = 1 << 16;

    private readonly IncrementalHash _digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);

    public long Length => length;

    public long Position { get; private set; }

    /// <summary>Fills <paramref name="buffer"/> with the next bytes.</summary>
    /// <returns><paramref name="buffer"/>.</returns>
    public Span<byte> Read(Span<byte> buffer)
    {
        try
        {
            input.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"{source} shrank while it was read: it ends before byte offset {length}", ex);
        }

        _digest.AppendData(buffer);
        Position += buffer.Length;
        return buffer;
    }

    /// <summary>Reads a file's content.</summary>
    /// <param name="size">Its length.</param>
    /// <param name="keep">Receives the content when not <see langword="null"/> (then exactly <paramref name="size"/> bytes long).</param>
    /// <returns>The content's SHA-256.</returns>
    public byte[] ReadContent(long size, byte[]? keep)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            for (var done = 0L; done < size;)
            {
                var chunk = Read(buffer.AsSpan(0, (int)Math.Min(ChunkSize, size - done)));
                hash.AppendData(chunk);
                if (keep is not null)
                {
                    chunk.CopyTo(keep.AsSpan((int)done));
                }

                done += chunk.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>Hashes what is left unread and returns the bundle's digest.</summary>
    /// <returns>The digest, as <see cref="RuntimeBundle.Digest"/> shows it.</returns>
    public string HashToEnd()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (Position < length)
            {
                Read(buffer.AsSpan(0, (int)Math.Min(ChunkSize, length - Position)));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return RuntimeBundle.DigestPrefix + Convert.ToHexStringLower(_digest.GetHashAndReset());
    }

    public void Dispose()
    {
        _digest.Dispose();
        input.Dispose();
    }
}

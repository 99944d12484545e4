namespace Cloister.Build.Images.Registry;

/// <summary>
/// A content-addressed store of verified blobs, <c>&lt;root&gt;/blobs/&lt;algorithm&gt;/&lt;hex&gt;</c>. A blob is
/// written to a temporary file beside its final name, verified as it is written, and renamed into place only when
/// its digest and size match: a file under its digest's name is always that digest's content, even after a crash.
/// </summary>
internal sealed class BlobCache(string root)
{
    public string PathOf(BlobDigest digest) => Path.Combine(root, "blobs", digest.Algorithm, digest.Hex);

    /// <summary>Opens a cached blob, or returns <see langword="null"/> when it is not cached.</summary>
    public FileStream? TryOpen(BlobDigest digest)
    {
        try
        {
            return new FileStream(PathOf(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Copies <c>content</c> into the cache under <c>digest</c> if, and only if, it matches digest and size;
    /// <c>readTimeout</c> bounds the wait for any one read, so a stalled download fails instead of hanging.
    /// </summary>
    public async Task StoreAsync(
        BlobDigest digest, long size, Stream content, string label, TimeSpan readTimeout, CancellationToken cancellationToken)
    {
        var final = PathOf(digest);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var temporary = $"{final}.{Guid.NewGuid():N}.partial";
        try
        {
            await using (var verified = new VerifiedReadStream(content, digest, size, label))
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var buffer = new byte[1 << 16];
                while (true)
                {
                    stall.CancelAfter(readTimeout);
                    int read;
                    try
                    {
                        read = await verified.ReadAsync(buffer, stall.Token);
                    }
                    catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new ImageSourceException(ImageSourceError.Unavailable, $"{label}: no data for {readTimeout.TotalSeconds:0.#} s", ex);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            File.Move(temporary, final, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

using ZstdSharp;

namespace Cloister.Build.Images;

/// <summary>How a layer blob is compressed.</summary>
public enum LayerCompression
{
    /// <summary>A plain tar.</summary>
    None,

    /// <summary>gzip (RFC 1952).</summary>
    Gzip,

    /// <summary>Zstandard (RFC 8878).</summary>
    Zstd,
}

/// <summary>One layer of an image: its blob descriptor, its diff_id, and a way to read it as an uncompressed tar.</summary>
public sealed class ImageLayer
{
    private readonly Func<CancellationToken, Task<Stream>> _openBlob;

    internal ImageLayer(
        ImageDescriptor descriptor, string diffId, LayerCompression compression, Func<CancellationToken, Task<Stream>> openBlob)
    {
        Descriptor = descriptor;
        DiffId = diffId;
        Compression = compression;
        _openBlob = openBlob;
    }

    /// <summary>The layer blob as the manifest describes it (compressed digest and size).</summary>
    public ImageDescriptor Descriptor { get; }

    /// <summary>The digest of the uncompressed tar, from the config's <c>rootfs.diff_ids</c>.</summary>
    public string DiffId { get; }

    /// <summary>How the blob is compressed.</summary>
    public LayerCompression Compression { get; }

    /// <summary>
    /// Opens the layer as an uncompressed tar stream, decompressing as it is read: memory stays bounded whatever the
    /// layer's size. Read it to its end: only then are the blob digest and the diff_id checked, and a mismatch
    /// surfaces as an exception from the last read instead of the end of the stream.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening the blob (for a registry: downloading it into the cache).</param>
    /// <returns>A read-only, non-seekable stream the caller disposes.</returns>
    /// <exception cref="ImageSourceException">The blob is missing or cannot be fetched; when read, a digest or size mismatch.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The <see cref="ImageSource"/> the image came from has been disposed.</exception>
    public async Task<Stream> OpenAsync(CancellationToken cancellationToken = default)
    {
        var blob = await _openBlob(cancellationToken);
        var diffId = BlobDigest.Parse(DiffId, "diff_id");
        var label = $"layer {Descriptor.Digest} (diff_id {DiffId})";
        if (Compression == LayerCompression.None)
        {
            return new VerifiedReadStream(blob, diffId, Descriptor.Size, label);
        }

        var compressed = new VerifiedReadStream(blob, BlobDigest.Parse(Descriptor.Digest, "digest"), Descriptor.Size, label);
        Stream decompressed = Compression == LayerCompression.Gzip
            ? new GzipReadStream(compressed)
            : new DecompressionStream(compressed, leaveOpen: false);
        return new VerifiedReadStream(decompressed, diffId, -1, $"uncompressed {label}", drainAtEnd: compressed);
    }
}

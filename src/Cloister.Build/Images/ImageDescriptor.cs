namespace Cloister.Build.Images;

/// <summary>A content descriptor: what a blob is, which digest names it and how many bytes it has.</summary>
public sealed class ImageDescriptor
{
    /// <summary>Creates a descriptor.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="mediaType"/> or <paramref name="digest"/> is <see langword="null"/>.</exception>
    public ImageDescriptor(string mediaType, string digest, long size)
    {
        ArgumentNullException.ThrowIfNull(mediaType);
        ArgumentNullException.ThrowIfNull(digest);
        MediaType = mediaType;
        Digest = digest;
        Size = size;
    }

    /// <summary>The blob's media type.</summary>
    public string MediaType { get; }

    /// <summary>The blob's digest, <c>sha256:…</c> or <c>sha512:…</c>.</summary>
    public string Digest { get; }

    /// <summary>The blob's size in bytes; -1 when the source does not record it (Docker archives).</summary>
    public long Size { get; }

    /// <summary><c>mediaType digest (size bytes)</c>.</summary>
    public override string ToString() => $"{MediaType} {Digest} ({Size} bytes)";
}

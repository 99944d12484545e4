namespace Cloister.Build.Images.Packing;

/// <summary>What <see cref="ImagePacker.Pack"/> wrote.</summary>
public sealed class ImagePackResult
{
    internal ImagePackResult(ImageReference reference, ImageDescriptor manifest, ImageDescriptor config, ImageDescriptor layer, string diffId, IReadOnlyList<RootfsEntry> entries)
    {
        Reference = reference;
        Manifest = manifest;
        Config = config;
        Layer = layer;
        DiffId = diffId;
        Entries = entries;
    }

    /// <summary>Where the image is: <c>oci-layout:DIR:TAG</c>.</summary>
    public ImageReference Reference { get; }

    /// <summary>The image manifest's descriptor (its digest pins the image).</summary>
    public ImageDescriptor Manifest { get; }

    /// <summary>The config's descriptor.</summary>
    public ImageDescriptor Config { get; }

    /// <summary>The gzip layer's descriptor.</summary>
    public ImageDescriptor Layer { get; }

    /// <summary>The digest of the uncompressed layer tar (<c>rootfs.diff_ids[0]</c>).</summary>
    public string DiffId { get; }

    /// <summary>Every entry of the layer, in tar order.</summary>
    public IReadOnlyList<RootfsEntry> Entries { get; }
}

namespace Cloister.Build.Images;

/// <summary>The media types of manifests, indexes, configs and layers that the image sources read.</summary>
public static class ImageMediaTypes
{
    /// <summary>OCI image manifest.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>OCI image index (a multi-platform image).</summary>
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>OCI image config.</summary>
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";

    /// <summary>OCI uncompressed layer.</summary>
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";

    /// <summary>OCI gzip-compressed layer.</summary>
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    /// <summary>OCI zstd-compressed layer.</summary>
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>Docker image manifest, schema 2.</summary>
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>Docker manifest list (a multi-platform image).</summary>
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    /// <summary>Docker image config.</summary>
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";

    /// <summary>Docker gzip-compressed layer.</summary>
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Docker uncompressed layer (rare, but valid).</summary>
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";

    /// <summary>The manifest types a registry is asked for, most preferred first.</summary>
    internal static readonly string[] Manifests = [OciIndex, DockerManifestList, OciManifest, DockerManifest];

    internal static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    internal static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    /// <summary>How a layer of this media type is compressed; refuses foreign and unknown layer types.</summary>
    internal static LayerCompression LayerCompressionOf(string mediaType, string blob) => mediaType switch
    {
        OciLayer or DockerLayer => LayerCompression.None,
        OciLayerGzip or DockerLayerGzip => LayerCompression.Gzip,
        OciLayerZstd => LayerCompression.Zstd,
        _ when mediaType.Contains("nondistributable", StringComparison.Ordinal) || mediaType.Contains(".foreign.", StringComparison.Ordinal) =>
            throw new ImageSourceException(
                ImageSourceError.UnsupportedMediaType,
                $"layer {blob} is a foreign (non-distributable) layer ({mediaType}): its content lives outside the image, so it cannot be built into an enclave"),
        _ => throw new ImageSourceException(ImageSourceError.UnsupportedMediaType, $"layer {blob} has media type '{mediaType}', which is not a tar layer Cloister reads"),
    };
}

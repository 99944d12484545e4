namespace Cloister.Build.Images;

/// <summary>An image resolved for one platform: its manifest digest, its config and its layers in order.</summary>
public sealed class ContainerImage
{
    internal ContainerImage(
        ImageReference reference, string? manifestDigest, ImageDescriptor config, ImageConfig configuration, IReadOnlyList<ImageLayer> layers)
    {
        Reference = reference;
        ManifestDigest = manifestDigest;
        Config = config;
        Configuration = configuration;
        Layers = layers;
    }

    /// <summary>The reference the image was resolved from.</summary>
    public ImageReference Reference { get; }

    /// <summary>
    /// The digest of the platform's image manifest (not of the index that chose it), or <see langword="null"/> for a
    /// Docker archive, which keeps no distribution manifest.
    /// </summary>
    public string? ManifestDigest { get; }

    /// <summary>The config blob's descriptor; its digest is the image ID Docker shows.</summary>
    public ImageDescriptor Config { get; }

    /// <summary>The parsed config: entrypoint, cmd, env, working directory, user, platform, history, diff_ids.</summary>
    public ImageConfig Configuration { get; }

    /// <summary>The layers, base first.</summary>
    public IReadOnlyList<ImageLayer> Layers { get; }
}

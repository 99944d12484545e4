namespace Cloister.Build.Images;

/// <summary>
/// Reads an image from an OCI image layout directory (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/</c>), as
/// umoci, skopeo (<c>oci:</c>) and buildkit write it.
/// </summary>
/// <remarks>
/// The tag is matched against the <c>org.opencontainers.image.ref.name</c> annotation of <c>index.json</c>'s entries;
/// without tag or digest the layout must hold exactly one entry. Layer blobs are verified as they are read.
/// </remarks>
public sealed class OciLayoutImageSource : ImageSource, IBlobReader
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>Creates a source for an <c>oci-layout:</c> reference.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="reference"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="reference"/> is not an OCI layout reference.</exception>
    public OciLayoutImageSource(ImageReference reference)
        : base(reference, ImageReferenceKind.OciLayout)
    {
        Directory = reference.Path!;
    }

    /// <summary>The layout directory.</summary>
    public string Directory { get; }

    /// <inheritdoc/>
    public override async Task<ContainerImage> ResolveAsync(ImagePlatform? platform = null, CancellationToken cancellationToken = default)
    {
        await CheckLayoutVersionAsync(cancellationToken);
        var indexPath = Path.Combine(Directory, "index.json");
        var fields = new JsonFields(indexPath);
        using var index = fields.Parse(await ReadLocalJsonAsync(indexPath, "OCI layout index", cancellationToken));
        var entries = fields.Array(fields.Object(index.RootElement, "$"), "manifests", "manifests")
            .Select(item => (
                Descriptor: ManifestResolver.ReadDescriptor(fields, item.Element, item.Path),
                Name: fields.OptionalObject(item.Element, "annotations", item.Path + ".annotations") is { } annotations
                    ? fields.OptionalString(annotations, RefNameAnnotation, $"{item.Path}.annotations[\"{RefNameAnnotation}\"]")
                    : null))
            .ToArray();

        var chosen = Reference switch
        {
            { Digest: { } digest } => entries.FirstOrDefault(e => e.Descriptor.Digest == digest).Descriptor
                ?? throw new ImageSourceException(ImageSourceError.NotFound, $"{Reference}: {indexPath} lists no manifest {digest}"),
            { Tag: { } tag } => entries.FirstOrDefault(e => e.Name == tag).Descriptor
                ?? throw new ImageSourceException(
                    ImageSourceError.NotFound,
                    $"{Reference}: no tag '{tag}' in {indexPath} (tags: {string.Join(", ", entries.Select(e => e.Name).OfType<string>())})"),
            _ when entries.Length == 1 => entries[0].Descriptor,
            _ => throw new ImageSourceException(
                ImageSourceError.InvalidReference,
                $"{Reference}: the layout holds {entries.Length} images; name one with :TAG or @DIGEST (tags: {string.Join(", ", entries.Select(e => e.Name).OfType<string>())})"),
        };

        var label = $"manifest {chosen.Digest} of {Reference}";
        var root = new RootManifest(await ManifestResolver.ReadJsonBlobAsync(this, chosen, label, cancellationToken), chosen.MediaType, chosen.Digest);
        return await ManifestResolver.ResolveAsync(Reference, root, this, platform ?? ImagePlatform.LinuxAmd64, cancellationToken);
    }

    Task<Stream> IBlobReader.OpenBlobAsync(ImageDescriptor descriptor, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(descriptor.Digest, "digest");
        return Task.FromResult<Stream>(OpenLocalFile(Path.Combine(Directory, "blobs", digest.Algorithm, digest.Hex), $"blob {digest} of {Reference}"));
    }

    private async Task CheckLayoutVersionAsync(CancellationToken cancellationToken)
    {
        var layoutPath = Path.Combine(Directory, "oci-layout");
        var fields = new JsonFields(layoutPath);
        using var layout = fields.Parse(await ReadLocalJsonAsync(layoutPath, $"OCI image layout marker of {Reference}", cancellationToken));
        var version = fields.RequiredString(fields.Object(layout.RootElement, "$"), "imageLayoutVersion", "imageLayoutVersion");
        if (!version.StartsWith("1.", StringComparison.Ordinal))
        {
            throw fields.Invalid("imageLayoutVersion", $"is '{version}'; only layout version 1.x is read");
        }
    }
}

using System.Text.Json;

namespace Cloister.Build.Images;

/// <summary>Where the distribution-shaped sources (OCI layouts, registries) keep their blobs.</summary>
internal interface IBlobReader
{
    /// <summary>Opens a blob's raw bytes; the caller verifies them against the descriptor.</summary>
    Task<Stream> OpenBlobAsync(ImageDescriptor descriptor, CancellationToken cancellationToken);
}

/// <summary>The manifest or index a reference points at.</summary>
/// <param name="Content">The manifest bytes, already checked against <paramref name="Digest"/>.</param>
/// <param name="MediaType">What the pointer said it is (index.json descriptor, Content-Type), if anything.</param>
/// <param name="Digest">The manifest's digest.</param>
internal sealed record RootManifest(byte[] Content, string? MediaType, string Digest);

/// <summary>
/// Walks index → manifest → config → layers, the part the OCI layout and the registry share: platform selection,
/// media types, and verification of every JSON blob before it is parsed.
/// </summary>
internal static class ManifestResolver
{
    /// <summary>Manifests and configs are small; a bigger one is refused rather than buffered.</summary>
    private const int MaxJsonBlobSize = 4 << 20;

    /// <summary>An index may point at an index once (nested indexes are legal but rare); deeper is refused.</summary>
    private const int MaxIndexDepth = 2;

    public static async Task<ContainerImage> ResolveAsync(
        ImageReference reference, RootManifest root, IBlobReader blobs, ImagePlatform platform, CancellationToken cancellationToken)
    {
        var (content, declaredType, digest) = (root.Content, root.MediaType, root.Digest);
        for (var depth = 0; ; depth++)
        {
            var fields = new JsonFields($"manifest {digest} of {reference}");
            using var document = fields.Parse(content);
            var manifest = fields.Object(document.RootElement, "$");
            var mediaType = MediaTypeOf(fields, manifest, declaredType, digest, reference);
            if (!ImageMediaTypes.IsIndex(mediaType))
            {
                return await ReadImageAsync(reference, fields, manifest, digest, blobs, platform, checkPlatform: depth == 0, cancellationToken);
            }

            if (depth == MaxIndexDepth)
            {
                throw new ImageSourceException(ImageSourceError.Malformed, $"{reference}: indexes nested more than {MaxIndexDepth} deep");
            }

            var chosen = ChoosePlatform(fields, manifest, platform, reference);
            content = await ReadJsonBlobAsync(blobs, chosen, $"manifest {chosen.Digest} of {reference}", cancellationToken);
            (declaredType, digest) = (chosen.MediaType, chosen.Digest);
        }
    }

    /// <summary>Reads a manifest or config blob whole and verifies it before anyone parses it.</summary>
    public static async Task<byte[]> ReadJsonBlobAsync(IBlobReader blobs, ImageDescriptor descriptor, string label, CancellationToken cancellationToken)
    {
        if (descriptor.Size > MaxJsonBlobSize)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{label} declares {descriptor.Size} bytes; more than {MaxJsonBlobSize} is not a manifest or config");
        }

        var digest = BlobDigest.Parse(descriptor.Digest, label);
        await using var verified = new VerifiedReadStream(await blobs.OpenBlobAsync(descriptor, cancellationToken), digest, descriptor.Size, label);
        using var buffer = new MemoryStream(descriptor.Size >= 0 ? (int)descriptor.Size : 0);
        await verified.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    public static ImageDescriptor ReadDescriptor(JsonFields fields, JsonElement element, string path)
    {
        var descriptor = fields.Object(element, path);
        var digest = fields.RequiredString(descriptor, "digest", path + ".digest");
        if (!BlobDigest.TryParse(digest, out _))
        {
            throw fields.Invalid(path + ".digest", $"is '{digest}', not a sha256 or sha512 digest");
        }

        return new ImageDescriptor(
            fields.RequiredString(descriptor, "mediaType", path + ".mediaType"),
            digest,
            fields.RequiredInt64(descriptor, "size", path + ".size"));
    }

    private static string MediaTypeOf(JsonFields fields, JsonElement manifest, string? declaredType, string digest, ImageReference reference)
    {
        var schemaVersion = fields.RequiredInt64(manifest, "schemaVersion", "schemaVersion");
        if (schemaVersion != 2)
        {
            throw new ImageSourceException(
                ImageSourceError.UnsupportedMediaType,
                $"manifest {digest} of {reference} has schemaVersion {schemaVersion}; only schema 2 (Docker v2.2 and OCI) is read — re-push the image with a current client");
        }

        // OCI 1.0 makes the manifest's own mediaType optional (umoci omits it): then trust whatever pointed at it, and
        // failing that, the document's shape.
        var mediaType = fields.OptionalString(manifest, "mediaType", "mediaType")
            ?? (declaredType is not null && (ImageMediaTypes.IsIndex(declaredType) || ImageMediaTypes.IsManifest(declaredType)) ? declaredType : null)
            ?? (manifest.TryGetProperty("manifests", out _) ? ImageMediaTypes.OciIndex : ImageMediaTypes.OciManifest);
        return ImageMediaTypes.IsIndex(mediaType) || ImageMediaTypes.IsManifest(mediaType)
            ? mediaType
            : throw new ImageSourceException(
                ImageSourceError.UnsupportedMediaType,
                $"manifest {digest} of {reference} has media type '{mediaType}', not an OCI or Docker schema 2 manifest or index");
    }

    private static ImageDescriptor ChoosePlatform(JsonFields fields, JsonElement index, ImagePlatform platform, ImageReference reference)
    {
        var offered = new List<string>();
        foreach (var (element, path) in fields.Array(index, "manifests", "manifests"))
        {
            var entry = fields.Object(element, path);
            if (fields.OptionalObject(entry, "platform", path + ".platform") is not { } platformObject)
            {
                continue;
            }

            var os = fields.OptionalString(platformObject, "os", path + ".platform.os");
            var architecture = fields.OptionalString(platformObject, "architecture", path + ".platform.architecture");
            if (string.IsNullOrEmpty(os) || string.IsNullOrEmpty(architecture))
            {
                continue;
            }

            var candidate = new ImagePlatform(os, architecture, fields.OptionalString(platformObject, "variant", path + ".platform.variant"));
            if (platform.Accepts(candidate))
            {
                return ReadDescriptor(fields, entry, path);
            }

            offered.Add(candidate.ToString());
        }

        throw new ImageSourceException(
            ImageSourceError.PlatformNotFound,
            $"{reference} has no image for {platform}; it offers {(offered.Count == 0 ? "no platforms" : string.Join(", ", offered))}");
    }

    private static async Task<ContainerImage> ReadImageAsync(
        ImageReference reference,
        JsonFields fields,
        JsonElement manifest,
        string manifestDigest,
        IBlobReader blobs,
        ImagePlatform platform,
        bool checkPlatform,
        CancellationToken cancellationToken)
    {
        var configDescriptor = ReadDescriptor(fields, fields.OptionalObject(manifest, "config", "config") ?? throw fields.Missing("config"), "config");
        if (configDescriptor.MediaType is not (ImageMediaTypes.OciConfig or ImageMediaTypes.DockerConfig))
        {
            throw new ImageSourceException(
                ImageSourceError.UnsupportedMediaType,
                $"manifest {manifestDigest} of {reference}: config media type '{configDescriptor.MediaType}' is not a container image config (an artifact?)");
        }

        var layerDescriptors = fields.Array(manifest, "layers", "layers").Select(item => ReadDescriptor(fields, item.Element, item.Path)).ToArray();
        var configLabel = $"config {configDescriptor.Digest} of {reference}";
        var config = ImageConfigReader.Read(await ReadJsonBlobAsync(blobs, configDescriptor, configLabel, cancellationToken), configLabel);
        if (checkPlatform && config.Platform is { } built && !platform.Accepts(built))
        {
            throw new ImageSourceException(ImageSourceError.PlatformNotFound, $"{reference} is a single-platform image for {built}, not {platform}");
        }

        var layers = BuildLayers(configLabel, config, layerDescriptors, descriptor => ct => blobs.OpenBlobAsync(descriptor, ct));
        return new ContainerImage(reference, manifestDigest, configDescriptor, config, layers);
    }

    /// <summary>Pairs layer descriptors with the config's diff_ids; shared with the Docker archive source.</summary>
    public static ImageLayer[] BuildLayers(
        string configLabel,
        ImageConfig config,
        IReadOnlyList<ImageDescriptor> descriptors,
        Func<ImageDescriptor, Func<CancellationToken, Task<Stream>>> open)
    {
        CheckLayerCount(configLabel, config, descriptors.Count);
        var layers = new ImageLayer[descriptors.Count];
        for (var i = 0; i < layers.Length; i++)
        {
            var descriptor = descriptors[i];
            var compression = ImageMediaTypes.LayerCompressionOf(descriptor.MediaType, descriptor.Digest);
            if (compression == LayerCompression.None && descriptor.Digest != config.DiffIds[i])
            {
                throw new ImageSourceException(
                    ImageSourceError.DigestMismatch,
                    $"layer {i} ({descriptor.Digest}) is uncompressed, yet {configLabel} gives its diff_id as {config.DiffIds[i]}");
            }

            layers[i] = new ImageLayer(descriptor, config.DiffIds[i], compression, open(descriptor));
        }

        return layers;
    }

    public static void CheckLayerCount(string configLabel, ImageConfig config, int layerCount)
    {
        if (layerCount != config.DiffIds.Count)
        {
            throw new ImageSourceException(
                ImageSourceError.Malformed,
                $"{configLabel}: rootfs.diff_ids has {config.DiffIds.Count} entries but the image has {layerCount} layers");
        }
    }
}

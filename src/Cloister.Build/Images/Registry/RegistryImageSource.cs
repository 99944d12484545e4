namespace Cloister.Build.Images.Registry;

/// <summary>
/// Reads an image from a registry over the OCI distribution API (Docker Registry HTTP API v2), through a
/// content-addressed blob cache.
/// </summary>
/// <remarks>
/// The manifest the reference names is always fetched (tags move) and checked against the pinned digest, or against
/// <c>Docker-Content-Digest</c> when the registry sends one. Every other blob — child manifests, config, layers — is
/// taken from the cache when present, otherwise downloaded into it: written to a temporary file, verified, renamed.
/// Nothing is handed on before its digest is verified, and nothing unverified is ever cached.
/// </remarks>
public sealed class RegistryImageSource : ImageSource, IBlobReader
{
    private const int MaxManifestLength = 4 << 20;

    private readonly RegistryClient _client;
    private readonly BlobCache _cache;
    private readonly RegistryOptions _options;

    /// <summary>Creates a source for a registry reference.</summary>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="reference"/> is not a registry reference.</exception>
    public RegistryImageSource(ImageReference reference, RegistryOptions options)
        : base(reference, ImageReferenceKind.Registry)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _client = new RegistryClient(reference.Registry!, reference.Repository!, options);
        _cache = new BlobCache(options.CacheDirectory);
    }

    /// <summary>The repository's API root, e.g. <c>http://127.0.0.1:5000/v2/app/</c> (HTTPS unless the host is loopback or declared insecure).</summary>
    public Uri BaseAddress => _client.BaseAddress;

    /// <inheritdoc/>
    public override async Task<ContainerImage> ResolveAsync(ImagePlatform? platform = null, CancellationToken cancellationToken = default)
    {
        var target = Reference.Digest ?? Reference.Tag!;
        var what = $"manifest {target} of {Reference}";
        var (content, mediaType, announced) = await _client.FetchAsync(
            $"manifests/{target}",
            ImageMediaTypes.Manifests,
            what,
            async (response, ct) => (
                await RegistryClient.ReadBodyAsync(response, MaxManifestLength, what, ct),
                response.Content.Headers.ContentType?.MediaType,
                response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null),
            cancellationToken);

        var expected = Reference.Digest is { } pinned ? BlobDigest.Parse(pinned, "digest")
            : BlobDigest.TryParse(announced, out var header) ? header
            : (BlobDigest?)null;
        var digest = expected ?? BlobDigest.Compute(content);
        if (expected is { } e && e.Recompute(content) is var actual && actual != e)
        {
            throw new ImageSourceException(ImageSourceError.DigestMismatch, $"{what}: content hashes to {actual}, not {e}");
        }

        var root = new RootManifest(content, mediaType, digest.ToString());
        return await ManifestResolver.ResolveAsync(Reference, root, this, platform ?? ImagePlatform.LinuxAmd64, cancellationToken);
    }

    async Task<Stream> IBlobReader.OpenBlobAsync(ImageDescriptor descriptor, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(descriptor.Digest, "digest");
        if (_cache.TryOpen(digest) is { } cached)
        {
            return cached;
        }

        // Manifests named by an index are fetched where manifests live; registries need not serve them as blobs.
        var isManifest = ImageMediaTypes.IsIndex(descriptor.MediaType) || ImageMediaTypes.IsManifest(descriptor.MediaType);
        var what = $"{(isManifest ? "manifest" : "blob")} {digest} of {Reference}";
        await _client.FetchAsync(
            $"{(isManifest ? "manifests" : "blobs")}/{digest}",
            isManifest ? ImageMediaTypes.Manifests : [],
            what,
            async (response, ct) =>
            {
                await _cache.StoreAsync(digest, descriptor.Size, await response.Content.ReadAsStreamAsync(ct), what, _options.RequestTimeout, ct);
                return true;
            },
            cancellationToken);
        return _cache.TryOpen(digest) ?? throw new ImageSourceException(ImageSourceError.NotFound, $"{what}: vanished from the cache {_cache.PathOf(digest)}");
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _client.Dispose();
        }

        base.Dispose(disposing);
    }
}

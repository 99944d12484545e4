using System.Formats.Tar;
using Cloister.Build.Layers;

namespace Cloister.Build.Images;

/// <summary>
/// Reads an image from a <c>docker save</c> archive (also <c>skopeo copy … docker-archive:</c> and <c>podman save</c>):
/// a tar holding <c>manifest.json</c>, the config and one tar per layer.
/// </summary>
/// <remarks>
/// <para>
/// The archive's headers are read once to learn its members and each member is then read in place, so nothing is
/// extracted. The tag, when given, is matched against each image's <c>RepoTags</c> (<c>app:v1</c> also matches
/// <c>docker.io/library/app:v1</c>); without one the archive must hold exactly one image.
/// </para>
/// <para>
/// A Docker archive records no distribution manifest and no layer digests: the config is named by its SHA-256 (the
/// image ID) and verified against it; layers are verified against the config's diff_ids as they are read. Members
/// named <c>blobs/sha256/…</c> (Docker 25's OCI-shaped archives) are verified against that name too, which is what
/// lets such a layer be compressed; a compressed layer under any other name is refused, since nothing would vouch
/// for the compressed bytes.
/// </para>
/// </remarks>
public sealed class DockerArchiveImageSource : ImageSource
{
    /// <summary>Creates a source for a <c>docker-archive:</c> reference.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="reference"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="reference"/> is not a Docker archive reference.</exception>
    public DockerArchiveImageSource(ImageReference reference)
        : base(reference, ImageReferenceKind.DockerArchive)
    {
        ArchivePath = reference.Path!;
    }

    /// <summary>The archive file.</summary>
    public string ArchivePath { get; }

    /// <inheritdoc/>
    public override async Task<ContainerImage> ResolveAsync(ImagePlatform? platform = null, CancellationToken cancellationToken = default)
    {
        var members = await IndexAsync(cancellationToken);
        var manifestLabel = $"manifest.json of {Reference}";
        var fields = new JsonFields(manifestLabel);
        using var manifest = fields.Parse(await ReadMemberAsync(members, "manifest.json", cancellationToken));
        var images = fields.Elements(manifest.RootElement, "$")
            .Select(item => (Element: fields.Object(item.Element, item.Path), item.Path, Tags: fields.StringArray(item.Element, "RepoTags", item.Path + ".RepoTags")))
            .ToArray();
        var (image, path, _) = Reference.Tag is { } tag
            ? images.FirstOrDefault(i => i.Tags.Any(t => TagMatches(t, tag)))
            : images.Length == 1 ? images[0] : default;
        if (path is null)
        {
            var tags = string.Join(", ", images.SelectMany(i => i.Tags));
            throw Reference.Tag is null
                ? new ImageSourceException(ImageSourceError.InvalidReference, $"{Reference}: the archive holds {images.Length} images; name one with :REPO:TAG (tags: {tags})")
                : new ImageSourceException(ImageSourceError.NotFound, $"{Reference}: no image tagged '{Reference.Tag}' in the archive (tags: {tags})");
        }

        var configName = fields.RequiredString(image, "Config", path + ".Config");
        var configJson = await ReadMemberAsync(members, configName, cancellationToken);
        var configDigest = BlobDigest.Compute(configJson);
        var configLabel = $"config {configName} of {Reference}";
        if (ContentAddress(configName) is { } named && named != configDigest)
        {
            throw new ImageSourceException(ImageSourceError.DigestMismatch, $"{configLabel}: content hashes to {configDigest}, not {named}");
        }

        var config = ImageConfigReader.Read(configJson, configLabel);
        var layerNames = fields.StringArray(image, "Layers", path + ".Layers");
        ManifestResolver.CheckLayerCount(configLabel, config, layerNames.Count);
        var descriptors = new ImageDescriptor[layerNames.Count];
        for (var i = 0; i < descriptors.Length; i++)
        {
            descriptors[i] = await DescribeLayerAsync(members, layerNames[i], config.DiffIds[i], cancellationToken);
        }

        var layers = ManifestResolver.BuildLayers(configLabel, config, descriptors, descriptor => ct => OpenMemberAsync(members.Find(descriptor.Digest, Reference), ct));
        var platformWanted = platform ?? ImagePlatform.LinuxAmd64;
        if (config.Platform is { } built && !platformWanted.Accepts(built))
        {
            throw new ImageSourceException(ImageSourceError.PlatformNotFound, $"{Reference} is an image for {built}, not {platformWanted}");
        }

        return new ContainerImage(Reference, null, new ImageDescriptor(ImageMediaTypes.DockerConfig, configDigest.ToString(), configJson.Length), config, layers);
    }

    private static bool TagMatches(string repoTag, string wanted) =>
        repoTag == wanted || repoTag == $"{ImageReference.DockerHubRegistry}/{wanted}" || repoTag == $"{ImageReference.DockerHubRegistry}/library/{wanted}";

    /// <summary>The digest a member's name claims (<c>blobs/sha256/HEX</c>, <c>HEX.json</c>), if it claims one.</summary>
    private static BlobDigest? ContentAddress(string name)
    {
        var file = Path.GetFileName(name);
        var stem = Path.GetFileNameWithoutExtension(file);
        return BlobDigest.TryParse($"sha256:{file}", out var byBlobName) && name.StartsWith("blobs/sha256/", StringComparison.Ordinal) ? byBlobName
            : BlobDigest.TryParse($"sha256:{stem}", out var byStem) && file == stem + ".json" ? byStem
            : null;
    }

    private async Task<ImageDescriptor> DescribeLayerAsync(ArchiveIndex members, string name, string diffId, CancellationToken cancellationToken)
    {
        var member = members.Find(name, Reference);
        var magic = new byte[4];
        await using (var head = await OpenMemberAsync(member, cancellationToken))
        {
            await head.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken);
        }

        var (mediaType, compressed) = magic switch
        {
            [0x1f, 0x8b, ..] => (ImageMediaTypes.OciLayerGzip, true),
            [0x28, 0xb5, 0x2f, 0xfd] => (ImageMediaTypes.OciLayerZstd, true),
            _ => (ImageMediaTypes.OciLayer, false),
        };
        var digest = name.StartsWith("blobs/sha256/", StringComparison.Ordinal) ? ContentAddress(name)?.ToString() : null;
        if (digest is null && compressed)
        {
            throw new ImageSourceException(
                ImageSourceError.UnsupportedMediaType,
                $"{Reference}: layer {name} is compressed but not content-addressed, so its bytes cannot be verified before decompression");
        }

        members.Alias(digest ?? diffId, member);
        return new ImageDescriptor(mediaType, digest ?? diffId, member.Length);
    }

    private async Task<byte[]> ReadMemberAsync(ArchiveIndex members, string name, CancellationToken cancellationToken)
    {
        const int MaxLength = 4 << 20;
        var member = members.Find(name, Reference);
        if (member.Length > MaxLength)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{Reference}: {name} has {member.Length} bytes, more than a manifest or config may");
        }

        var content = new byte[member.Length];
        await using var stream = await OpenMemberAsync(member, cancellationToken);
        await stream.ReadExactlyAsync(content, cancellationToken);
        return content;
    }

    private async Task<Stream> OpenMemberAsync(Member member, CancellationToken cancellationToken) =>
        await TarMemberStream.OpenAsync(OpenLocalFile(ArchivePath, $"{Reference}: archive"), member.Name, ArchiveIndex.Normalize, cancellationToken)
        ?? throw new ImageSourceException(ImageSourceError.Malformed, $"{Reference}: member {member.Name} vanished: was the archive replaced while being read?");

    /// <summary>Reads every member header once, recording where each member's data lies in the archive.</summary>
    private async Task<ArchiveIndex> IndexAsync(CancellationToken cancellationToken)
    {
        var index = new ArchiveIndex();
        await using var archive = OpenLocalFile(ArchivePath, $"{Reference}: archive");
        if (!archive.CanSeek)
        {
            // Members are read in place later, by seeking: a pipe or a device cannot be.
            throw new ImageSourceException(ImageSourceError.Malformed, $"{Reference}: the archive must be a regular file");
        }

        // TarReader trusts header checksums and reads a metadata entry whole, however large its header says it is.
        if (await TarHeaderCheckingStream.ScanAsync(archive, cancellationToken) is var (reason, offset))
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{Reference}: at byte {offset}: {reason}");
        }

        archive.Position = 0;
        try
        {
            await using var reader = new TarReader(archive, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                index.Add(entry);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException or OverflowException or ArgumentException or NotSupportedException)
        {
            // What TarReader throws for a malformed, truncated or unsupported header (as LayerFlattener also finds).
            throw new ImageSourceException(ImageSourceError.Malformed, $"{Reference}: not a tar archive Cloister reads ({ex.Message})", ex);
        }

        return index;
    }

    private sealed record Member(string Name, long Length);

    /// <summary>Archive members by normalized name (symbolic and hard links resolved), plus layers by digest.</summary>
    private sealed class ArchiveIndex
    {
        private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

        public void Add(TarEntry entry)
        {
            var name = Normalize(entry.Name);
            if (entry.EntryType is TarEntryType.SymbolicLink)
            {
                _links[name] = Normalize(Path.Combine(Path.GetDirectoryName(name) ?? "", entry.LinkName));
            }
            else if (entry.EntryType is TarEntryType.HardLink)
            {
                _links[name] = Normalize(entry.LinkName);
            }
            else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                _members[name] = new Member(name, entry.Length);
            }
        }

        public void Alias(string digest, Member member) => _members[digest] = member;

        public Member Find(string name, ImageReference reference)
        {
            var resolved = Normalize(name);
            for (var hops = 0; hops < 8 && _links.TryGetValue(resolved, out var target); hops++)
            {
                resolved = target;
            }

            return _members.TryGetValue(resolved, out var member)
                ? member
                : throw new ImageSourceException(ImageSourceError.Malformed, $"{reference}: the archive has no member '{name}' (not a docker save archive?)");
        }

        public static string Normalize(string name)
        {
            var parts = new List<string>();
            foreach (var part in name.Split('/'))
            {
                if (part == "..")
                {
                    if (parts.Count > 0)
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }
                }
                else if (part is not ("" or "."))
                {
                    parts.Add(part);
                }
            }

            return string.Join('/', parts);
        }
    }
}

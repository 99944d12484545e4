using System.Text.RegularExpressions;

namespace Cloister.Build.Images;

/// <summary>Where an image reference points.</summary>
public enum ImageReferenceKind
{
    /// <summary>An OCI image layout directory: <c>oci-layout:PATH[:TAG|@DIGEST]</c>.</summary>
    OciLayout,

    /// <summary>A <c>docker save</c> (or <c>skopeo copy … docker-archive:</c>) tar: <c>docker-archive:PATH[:REPO:TAG]</c>.</summary>
    DockerArchive,

    /// <summary>A registry speaking the OCI distribution API: <c>host[:port]/repository[:tag|@digest]</c>.</summary>
    Registry,
}

/// <summary>
/// A parsed image reference: one of the three places <c>cloister build</c> reads images from.
/// </summary>
/// <remarks>
/// <para>
/// Local references split at the first <c>:</c> after the transport (as skopeo does), so a path holding a colon
/// cannot be named; an <c>@sha256:…</c> suffix selects by manifest digest instead of tag.
/// </para>
/// <para>
/// Registry references follow Docker's rules: when the first path component holds no <c>.</c> or <c>:</c> and is not
/// <c>localhost</c>, the name is a Docker Hub short name: the registry is <c>docker.io</c> (spoken to at
/// <c>registry-1.docker.io</c>) and a single-component name gains the <c>library/</c> prefix, so <c>alpine</c> means
/// <c>docker.io/library/alpine:latest</c>. A reference with neither tag nor digest means the tag <c>latest</c>.
/// An optional <c>docker://</c> prefix (skopeo's spelling) is accepted.
/// </para>
/// </remarks>
public sealed partial class ImageReference
{
    private const string OciLayoutPrefix = "oci-layout:";
    private const string DockerArchivePrefix = "docker-archive:";
    private const string RegistryPrefix = "docker://";

    /// <summary>The registry Docker Hub short names resolve to.</summary>
    public const string DockerHubRegistry = "docker.io";

    private ImageReference(
        ImageReferenceKind kind, string text, string? path, string? registry, string? repository, string? tag, string? digest)
    {
        Kind = kind;
        Text = text;
        Path = path;
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>Which source the reference names.</summary>
    public ImageReferenceKind Kind { get; }

    /// <summary>The directory (OCI layout) or file (Docker archive); <see langword="null"/> for a registry.</summary>
    public string? Path { get; }

    /// <summary>The registry host with its port, e.g. <c>127.0.0.1:5000</c> or <c>docker.io</c>; <see langword="null"/> for local sources.</summary>
    public string? Registry { get; }

    /// <summary>The repository within the registry, e.g. <c>library/alpine</c>; <see langword="null"/> for local sources.</summary>
    public string? Repository { get; }

    /// <summary>
    /// The tag: a registry or OCI layout tag, or for a Docker archive the <c>repo:tag</c> to pick among its images.
    /// <see langword="null"/> when a digest is given, or when a local source should hold exactly one image.
    /// </summary>
    public string? Tag { get; }

    /// <summary>The manifest digest (<c>sha256:…</c>) the reference pins, or <see langword="null"/>.</summary>
    public string? Digest { get; }

    /// <summary>The reference as the user wrote it.</summary>
    public string Text { get; }

    /// <summary>The reference as written.</summary>
    public override string ToString() => Text;

    /// <summary>Parses an image reference.</summary>
    /// <param name="text">
    /// <c>oci-layout:PATH[:TAG|@DIGEST]</c>, <c>docker-archive:PATH[:REPO:TAG]</c>, or <c>[docker://]host[:port]/repo[:tag|@digest]</c>.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageSourceException">The reference is malformed (<see cref="ImageSourceError.InvalidReference"/>).</exception>
    public static ImageReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith(OciLayoutPrefix, StringComparison.Ordinal))
        {
            return ParseLocal(ImageReferenceKind.OciLayout, text, text[OciLayoutPrefix.Length..]);
        }

        if (text.StartsWith(DockerArchivePrefix, StringComparison.Ordinal))
        {
            return ParseLocal(ImageReferenceKind.DockerArchive, text, text[DockerArchivePrefix.Length..]);
        }

        return ParseRegistry(text, text.StartsWith(RegistryPrefix, StringComparison.Ordinal) ? text[RegistryPrefix.Length..] : text);
    }

    private static ImageReference ParseLocal(ImageReferenceKind kind, string text, string rest)
    {
        string? digest = null;
        string? tag = null;
        var at = rest.LastIndexOf('@');
        if (kind == ImageReferenceKind.OciLayout && at >= 0)
        {
            digest = ParseDigest(text, rest[(at + 1)..]);
            rest = rest[..at];
        }
        else
        {
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                tag = rest[(colon + 1)..];
                rest = rest[..colon];
                if (tag.Length == 0)
                {
                    throw Invalid(text, "the tag after ':' is empty");
                }
            }
        }

        if (rest.Length == 0)
        {
            throw Invalid(text, "the path is empty");
        }

        return new ImageReference(kind, text, rest, null, null, tag, digest);
    }

    private static ImageReference ParseRegistry(string text, string name)
    {
        string? digest = null;
        string? tag = null;
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = ParseDigest(text, name[(at + 1)..]);
            name = name[..at];
        }

        var lastColon = name.LastIndexOf(':');
        if (lastColon > name.LastIndexOf('/'))
        {
            tag = name[(lastColon + 1)..];
            name = name[..lastColon];
            if (!TagPattern().IsMatch(tag))
            {
                throw Invalid(text, $"'{tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')");
            }
        }

        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? name : name[..slash];
        string registry;
        string repository;
        if (slash >= 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"))
        {
            registry = first;
            repository = name[(slash + 1)..];
            if (!HostPattern().IsMatch(registry))
            {
                throw Invalid(text, $"'{registry}' is not a valid registry host[:port]");
            }
        }
        else
        {
            registry = DockerHubRegistry;
            repository = slash < 0 ? "library/" + name : name;
        }

        if (repository.Length > 255 || !RepositoryPattern().IsMatch(repository))
        {
            throw Invalid(
                text,
                $"'{repository}' is not a valid repository name (lowercase letters and digits, components separated by '/', joined by '.', '_', '__' or '-')");
        }

        return new ImageReference(ImageReferenceKind.Registry, text, null, registry, repository, digest is null ? tag ?? "latest" : tag, digest);
    }

    private static string ParseDigest(string text, string value) =>
        BlobDigest.TryParse(value, out var digest)
            ? digest.ToString()
            : throw Invalid(text, $"'{value}' after '@' is not a sha256 or sha512 digest");

    private static ImageSourceException Invalid(string text, string why) =>
        new(ImageSourceError.InvalidReference, $"invalid image reference '{text}': {why}");

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex HostPattern();
}

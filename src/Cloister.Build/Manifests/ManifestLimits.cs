namespace Cloister.Build.Manifests;

/// <summary>
/// How deep and how large the YAML of <c>enclave.yaml</c> may be, besides its size in bytes
/// (<see cref="Runtime.Files.FileSizeLimits.Manifest"/>). A parser that recurses per nesting level or hashes what
/// aliases repeat can be made to overflow its stack or run for hours by a few hundred bytes; these bounds are checked
/// event by event before the YAML representation is built, far above anything a real manifest needs
/// (<c>docs/limits.md</c>).
/// </summary>
public static class ManifestLimits
{
    /// <summary>
    /// The most lists and mappings one inside another, the document's own mapping included and an alias counting as
    /// the node it repeats. A real manifest nests four deep (<c>ingress[0].hostnames[0]</c>).
    /// </summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// The most nodes (values, lists and mappings), each alias counting as every node it repeats, so aliases of
    /// aliases ("billion laughs") cannot multiply the work. A real manifest has about a hundred.
    /// </summary>
    public const int MaxNodes = 100_000;
}

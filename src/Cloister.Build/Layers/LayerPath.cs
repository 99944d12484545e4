namespace Cloister.Build.Layers;

/// <summary>Turns tar entry names into path components, refusing what could leave the root.</summary>
internal static class LayerPath
{
    /// <summary>
    /// Splits <paramref name="name"/> into components: <c>./</c> prefixes, <c>.</c> components, repeated and trailing
    /// slashes are dropped (as <c>filepath.Clean</c> does); <c>..</c> anywhere and a leading <c>/</c> are refused
    /// rather than resolved, since a layer that needs either was not written by an honest image builder.
    /// </summary>
    /// <returns><see langword="null"/>, or why the name is refused. The root is the empty array.</returns>
    public static LayerFailure? TrySplit(string name, out string[] components)
    {
        components = [];
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            return LayerFailure.InvalidPath;
        }

        if (name.StartsWith('/'))
        {
            return LayerFailure.AbsolutePath;
        }

        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Contains(".."))
        {
            return LayerFailure.PathTraversal;
        }

        components = Array.FindAll(parts, part => part != ".");
        return null;
    }

    public static string Join(IEnumerable<string> components) => string.Join('/', components);
}

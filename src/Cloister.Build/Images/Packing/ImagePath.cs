namespace Cloister.Build.Images.Packing;

/// <summary>Paths inside the image as a layer names them: relative to the root, '/'-separated, no '.' or '..'.</summary>
internal static class ImagePath
{
    /// <summary>Turns an absolute image path into its layer form (<c>/app/hello</c> → <c>app/hello</c>).</summary>
    /// <param name="path">The path as the user wrote it.</param>
    /// <param name="what">Names the value in the error.</param>
    public static string Normalize(string path, string what)
    {
        if (!path.StartsWith('/'))
        {
            throw new FormatException($"{what} '{path}' is not an absolute path in the image");
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new FormatException($"{what} '{path}' names the image root, not a file or directory in it");
        }

        if (Array.Exists(parts, part => part is "." or ".." || part.Contains('\0', StringComparison.Ordinal)))
        {
            throw new FormatException($"{what} '{path}' has a '.', '..' or NUL component");
        }

        return string.Join('/', parts);
    }

    /// <summary>The parent of a layer path, or <see langword="null"/> at the top.</summary>
    public static string? Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? null : path[..slash];
    }
}

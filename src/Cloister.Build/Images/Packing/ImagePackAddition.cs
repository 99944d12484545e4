namespace Cloister.Build.Images.Packing;

/// <summary>A file or directory of this machine copied into a packed image (<c>--add SRC:DEST</c>).</summary>
/// <param name="Source">The file or directory on this machine; a directory is copied with everything below it.</param>
/// <param name="Destination">The absolute path it gets inside the image.</param>
public sealed record ImagePackAddition(string Source, string Destination)
{
    /// <summary>Parses <c>SRC:DEST</c>, split at the last colon (a source path may hold one, an image path may not).</summary>
    /// <param name="text">The value of <c>--add</c>.</param>
    /// <returns>The addition; the source is not checked here.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">There is no colon, a side is empty, or the destination is not an absolute path.</exception>
    public static ImagePackAddition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException($"'{text}' is not SRC:DEST (a file or directory here, then an absolute path in the image)");
        }

        var destination = text[(colon + 1)..];
        ImagePath.Normalize(destination, $"'{text}': DEST");
        return new ImagePackAddition(text[..colon], destination);
    }
}

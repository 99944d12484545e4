namespace Cloister.Build.Layers;

/// <summary>A layer was refused. The message names the layer (index and label) and the entry at fault.</summary>
/// <remarks>
/// Derives from <see cref="FormatException"/> because every reason is a property of the input, not of this machine.
/// </remarks>
public sealed class LayerException : FormatException
{
    /// <summary>Creates the exception for one refused layer entry.</summary>
    /// <param name="failure">Why the layer was refused.</param>
    /// <param name="layerIndex">Zero-based position of the layer, oldest first.</param>
    /// <param name="layerLabel">The caller's name for the layer, usually its digest.</param>
    /// <param name="entryName">The entry name as written in the tar, or <see langword="null"/> when no entry could be read.</param>
    /// <param name="offset">Byte offset of the entry's first header in the uncompressed layer stream.</param>
    /// <param name="detail">What exactly was wrong.</param>
    /// <param name="innerException">The reader's own exception, if any.</param>
    public LayerException(
        LayerFailure failure, int layerIndex, string layerLabel, string? entryName, long offset, string detail, Exception? innerException = null)
        : base(Describe(layerIndex, layerLabel, entryName, offset, detail), innerException)
    {
        Failure = failure;
        LayerIndex = layerIndex;
        LayerLabel = layerLabel;
        EntryName = entryName;
        Offset = offset;
    }

    /// <summary>Why the layer was refused.</summary>
    public LayerFailure Failure { get; }

    /// <summary>Zero-based position of the layer, oldest first.</summary>
    public int LayerIndex { get; }

    /// <summary>The caller's name for the layer (digest or file name).</summary>
    public string LayerLabel { get; }

    /// <summary>The entry name as written in the tar; <see langword="null"/> when the failure precedes any readable entry.</summary>
    public string? EntryName { get; }

    /// <summary>Byte offset in the uncompressed layer where the entry's headers begin.</summary>
    public long Offset { get; }

    private static string Describe(int layerIndex, string layerLabel, string? entryName, long offset, string detail) =>
        entryName is null
            ? $"layer {layerIndex} ({layerLabel}), at byte {offset}: {detail}"
            : $"layer {layerIndex} ({layerLabel}), entry '{entryName}' at byte {offset}: {detail}";
}

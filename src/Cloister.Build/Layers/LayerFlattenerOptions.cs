namespace Cloister.Build.Layers;

/// <summary>Where <see cref="LayerFlattener"/> spools file contents and how much it accepts.</summary>
public sealed class LayerFlattenerOptions
{
    /// <summary>The largest regular file a ramdisk can hold: cpio newc stores sizes as 8 hex digits.</summary>
    public const long CpioMaxFileSize = uint.MaxValue;

    /// <summary>Directory for the content spool (one temporary file, deleted when the flattener is disposed).</summary>
    public required string TemporaryDirectory { get; init; }

    /// <summary>Largest accepted regular file in bytes; at most (and by default) <see cref="CpioMaxFileSize"/>.</summary>
    public long MaxFileSize { get; init; } = CpioMaxFileSize;

    /// <summary>Largest accepted sum of all regular files of all layers (including files later overwritten); default 8 GiB.</summary>
    public long MaxTotalSize { get; init; } = 8L << 30;
}

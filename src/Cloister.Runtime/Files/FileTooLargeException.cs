namespace Cloister.Runtime.Files;

/// <summary>An input file holds more bytes than its kind may (<see cref="FileSizeLimits"/>); nothing past the limit was read.</summary>
public sealed class FileTooLargeException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>, read as <paramref name="what"/>.</summary>
    public FileTooLargeException(string path, string what, long maxBytes)
        : base($"{what} {path}: larger than the {FormatSize(maxBytes)} limit for it")
    {
        Path = path;
        MaxBytes = maxBytes;
    }

    /// <summary>The file that was refused.</summary>
    public string Path { get; }

    /// <summary>The limit it exceeded, in bytes.</summary>
    public long MaxBytes { get; }

    private static string FormatSize(long bytes) =>
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB"
        : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes}-byte";
}

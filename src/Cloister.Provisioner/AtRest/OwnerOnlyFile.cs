namespace Cloister.Provisioner.AtRest;

/// <summary>Files only their owner may read: keys, credentials, the database.</summary>
internal static class OwnerOnlyFile
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates a file that must not exist, mode 0600 from its creation (no window in which others could open it).</summary>
    public static FileStream CreateNew(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Mode;
        }

        return new FileStream(path, options);
    }

    /// <summary>Writes a new 0600 file and flushes it to disk.</summary>
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        using var file = CreateNew(path);
        file.Write(contents);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Whether nobody but the owner may read or write the file (always true where there are no Unix modes).</summary>
    public static bool IsOwnerOnly(string path) => OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & ~Mode) == 0;
}

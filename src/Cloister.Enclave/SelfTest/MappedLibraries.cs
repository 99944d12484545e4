namespace Cloister.Enclave.SelfTest;

/// <summary>The shared objects actually mapped into this process: which libc and libssl won, not which ones were meant to.</summary>
internal static class MappedLibraries
{
    private const string MapsPath = "/proc/self/maps";

    /// <summary>Reads <c>/proc/self/maps</c> and returns the distinct paths of mapped shared objects, sorted.</summary>
    /// <exception cref="IOException"><c>/proc</c> is not mounted.</exception>
    public static IReadOnlyList<string> Read() => Parse(File.ReadAllLines(MapsPath));

    /// <summary>Extracts shared-object paths from lines of the maps format (the pathname is the sixth field and may contain spaces).</summary>
    public static IReadOnlyList<string> Parse(IEnumerable<string> mapsLines) => mapsLines
        .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
        .Where(fields => fields.Length == 6 && fields[5].StartsWith('/') && IsSharedObject(fields[5]))
        .Select(fields => fields[5].Trim())
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)
        .ToArray();

    private static bool IsSharedObject(string path)
    {
        var name = Path.GetFileName(path.AsSpan().Trim());
        return name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal);
    }
}

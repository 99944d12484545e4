namespace Cloister.Testing;

/// <summary>A short-named temporary run directory: Unix socket paths must stay under 108 bytes.</summary>
internal sealed class TempRunDirectory : IDisposable
{
    public TempRunDirectory()
    {
        Path = Directory.CreateTempSubdirectory("cl-").FullName;
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

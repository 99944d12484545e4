namespace Cloister.Fuzz.Harness;

/// <summary>Where seeds come from: files of the checkout (test vectors, samples).</summary>
internal sealed class SeedSources(string repositoryRoot)
{
    /// <summary>The bytes of a file given relative to the repository root.</summary>
    public byte[] File(string relativePath) => System.IO.File.ReadAllBytes(Path.Combine(repositoryRoot, relativePath));

    /// <summary>A seed holding a repository file, named after it.</summary>
    public Seed FileSeed(string relativePath) => new(Path.GetFileName(relativePath), File(relativePath));

    /// <summary>Finds the checkout above <paramref name="start"/> (the directory holding Cloister.slnx).</summary>
    public static SeedSources Locate(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                return new SeedSources(dir.FullName);
            }
        }

        throw new DirectoryNotFoundException($"no Cloister.slnx above {start}: seeds are made from a checkout");
    }
}

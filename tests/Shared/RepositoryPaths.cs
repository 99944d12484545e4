namespace Cloister.Testing;

/// <summary>Locates the checkout and its committed test vectors from a test assembly's output directory.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root: the nearest ancestor of the test output that holds <c>Cloister.slnx</c>.</summary>
    public static string Root => s_root.Value;

    /// <summary><c>tests/vectors</c>: real AWS documents, EIF and cpio fixtures (see its README.md).</summary>
    public static string Vectors => Path.Combine(Root, "tests", "vectors");

    /// <summary>A path below <c>tests/vectors</c>.</summary>
    public static string Vector(params string[] parts) => Path.Combine([Vectors, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Cloister.slnx above {AppContext.BaseDirectory}: tests must run from a checkout");
    }
}

namespace Cloister.Build.Supervisor;

/// <summary>Where <see cref="SupervisorBundle.Create"/> finds libraries and what it bundles besides the <c>DT_NEEDED</c> closure.</summary>
public sealed record SupervisorBundleOptions
{
    /// <summary>Directories searched, in order, for each library by its soname; defaults to <see cref="SupervisorBundle.DefaultLibraryDirectories"/>.</summary>
    public IReadOnlyList<string> LibraryDirectories { get; init; } = SupervisorBundle.DefaultLibraryDirectories;

    /// <summary>Libraries the supervisor loads with dlopen (bundled with their own dependencies); defaults to <see cref="SupervisorBundle.DefaultDlopenedLibraries"/>.</summary>
    public IReadOnlyList<string> DlopenedLibraries { get; init; } = SupervisorBundle.DefaultDlopenedLibraries;

    /// <summary>The modification time of every entry; the Unix epoch unless the build pins one (<c>SOURCE_DATE_EPOCH</c>).</summary>
    public DateTimeOffset ModificationTime { get; init; } = DateTimeOffset.UnixEpoch;
}

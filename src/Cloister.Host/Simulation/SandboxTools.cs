namespace Cloister.Host.Simulation;

/// <summary>
/// The external programs the simulator starts the enclave with; the caller locates them (<see cref="Find"/>), the
/// simulator never searches by itself. A missing one changes how the enclave runs, and the simulator says so.
/// </summary>
/// <param name="Bubblewrap"><c>bwrap</c>: isolation. Without it the enclave runs unisolated.</param>
/// <param name="Taskset"><c>taskset</c> (util-linux): limits the enclave to its CPUs.</param>
/// <param name="Chroot"><c>chroot</c> (coreutils): the root of the unisolated fallback, as root.</param>
/// <param name="Setsid">
/// <c>setsid</c> (util-linux): starts the enclave in a session of its own, so a terminal's Ctrl-C reaches only
/// <c>cloister run</c>, which then stops the enclave gracefully, instead of killing the sandbox with it.
/// </param>
public sealed record SandboxTools(string? Bubblewrap, string? Taskset, string? Chroot, string? Setsid = null)
{
    /// <summary>Looks the tools up in the directories of a <c>PATH</c> value (and <c>/usr/sbin</c>, <c>/sbin</c> for chroot).</summary>
    /// <param name="path">A colon-separated list of directories, e.g. the <c>PATH</c> variable; <see langword="null"/> finds nothing.</param>
    /// <returns>The tools found.</returns>
    public static SandboxTools Find(string? path)
    {
        var directories = (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        string? Locate(string name, params string[] extra) =>
            directories.Concat(extra).Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
        return new SandboxTools(Locate("bwrap"), Locate("taskset"), Locate("chroot", "/usr/sbin", "/sbin"), Locate("setsid"));
    }
}

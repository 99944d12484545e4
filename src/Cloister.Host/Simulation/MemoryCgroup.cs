using System.Globalization;

namespace Cloister.Host.Simulation;

/// <summary>
/// A memory cgroup of its own for one simulated enclave, so <c>--memory</c> limits the sandbox as Nitro limits the
/// enclave: created beside this process's own memory cgroup (cgroup v1 <c>memory</c> or v2 with the controller
/// delegated), removed when disposed. The sandbox joins it before it starts anything (see <see cref="JoinCommand"/>).
/// </summary>
/// <remarks>
/// Unlike Nitro's, the limit does not include the root file system, which the simulator keeps on disk rather than in
/// enclave memory; swap is refused too where the kernel accounts it.
/// </remarks>
internal sealed class MemoryCgroup : IDisposable
{
    private MemoryCgroup(string directory, string procsFile)
    {
        Directory = directory;
        ProcsFile = procsFile;
    }

    /// <summary>The cgroup's directory.</summary>
    public string Directory { get; }

    /// <summary>The file a process writes its PID to in order to join.</summary>
    public string ProcsFile { get; }

    /// <summary>
    /// The prefix that makes a command join the cgroup before it runs, so nothing it forks can escape the limit:
    /// <c>/bin/sh -c 'echo $$ &gt; "$0" &amp;&amp; exec "$@"' PROCS-FILE COMMAND…</c>.
    /// </summary>
    public IReadOnlyList<string> JoinCommand => ["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", ProcsFile];

    /// <summary>Creates the cgroup with its limit, or says why it cannot.</summary>
    /// <param name="name">The cgroup's name, unique on this machine (e.g. from the run directory).</param>
    /// <param name="limitMib">The limit in MiB.</param>
    /// <param name="whyNot">Why no cgroup was made, for a warning.</param>
    /// <returns>The cgroup, or <see langword="null"/>.</returns>
    public static MemoryCgroup? TryCreate(string name, int limitMib, out string? whyNot)
    {
        whyNot = null;
        var parent = FindOwnMemoryCgroup(File.ReadAllLines("/proc/self/mountinfo"), File.ReadAllLines("/proc/self/cgroup"));
        if (parent is null)
        {
            whyNot = "this machine has no memory cgroup controller mounted (cgroup v1 'memory', or v2 with 'memory' delegated)";
            return null;
        }

        var (parentDirectory, version2) = parent.Value;
        var directory = Path.Combine(parentDirectory, name);
        var limit = ((long)limitMib * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            if (version2)
            {
                File.WriteAllText(Path.Combine(directory, "memory.max"), limit);
                WriteIfPresent(Path.Combine(directory, "memory.swap.max"), "0");
            }
            else
            {
                File.WriteAllText(Path.Combine(directory, "memory.limit_in_bytes"), limit);
                WriteIfPresent(Path.Combine(directory, "memory.memsw.limit_in_bytes"), limit);
            }

            return new MemoryCgroup(directory, Path.Combine(directory, "cgroup.procs"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryRemove(directory);
            whyNot = $"cannot make a memory cgroup under {parentDirectory}: {ex.Message}";
            return null;
        }
    }

    /// <summary>Finds the directory of this process's memory cgroup from <c>/proc/self/mountinfo</c> and <c>/proc/self/cgroup</c>.</summary>
    /// <returns>The directory and whether it is cgroup v2, or <see langword="null"/> when there is no usable memory controller.</returns>
    internal static (string Directory, bool Version2)? FindOwnMemoryCgroup(IEnumerable<string> mountInfo, IEnumerable<string> cgroupMembership)
    {
        string? v1Path = null;
        string? v2Path = null;
        foreach (var line in cgroupMembership)
        {
            var fields = line.Split(':', 3);
            if (fields.Length != 3)
            {
                continue;
            }

            if (fields[0] == "0" && fields[1].Length == 0)
            {
                v2Path = fields[2];
            }
            else if (fields[1].Split(',').Contains("memory"))
            {
                v1Path = fields[2];
            }
        }

        foreach (var line in mountInfo)
        {
            // "<id> <parent> <major:minor> <root> <mount point> <options> [optional fields…] - <type> <source> <super options>"
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }

            var fields = line[..separator].Split(' ');
            var tail = line[(separator + 3)..].Split(' ');
            if (fields.Length < 5 || tail.Length < 3)
            {
                continue;
            }

            var (root, mountPoint, type) = (Unescape(fields[3]), Unescape(fields[4]), tail[0]);
            if (type == "cgroup" && v1Path is not null && tail[2].Split(',').Contains("memory") && Beneath(v1Path, root) is { } v1)
            {
                return (mountPoint + v1, false);
            }

            // v2 counts only where the memory controller is delegated to this process's cgroup's children.
            if (type == "cgroup2" && v1Path is null && v2Path is not null && Beneath(v2Path, root) is { } v2
                && Path.Combine(mountPoint + v2, "cgroup.subtree_control") is var subtreeControl && File.Exists(subtreeControl)
                && File.ReadAllText(subtreeControl).Split(' ', '\n').Contains("memory"))
            {
                return (mountPoint + v2, true);
            }
        }

        return null;
    }

    /// <summary>Removes the cgroup; it must hold no process any more.</summary>
    public void Dispose() => TryRemove(Directory);

    private static string? Beneath(string path, string root) =>
        root == "/" ? path.TrimEnd('/')
        : path == root ? ""
        : path.StartsWith(root + "/", StringComparison.Ordinal) ? path[root.Length..]
        : null;

    // mountinfo escapes space, tab, newline and backslash as octal.
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    private static void WriteIfPresent(string path, string value)
    {
        if (File.Exists(path))
        {
            File.WriteAllText(path, value);
        }
    }

    private static void TryRemove(string directory)
    {
        // A cgroup's directory is removed with rmdir, never recursively: its files are the kernel's. The last exiting
        // process may take a moment to leave it.
        for (var attempt = 0; attempt < 50 && System.IO.Directory.Exists(directory); attempt++)
        {
            try
            {
                System.IO.Directory.Delete(directory);
            }
            catch (IOException)
            {
                Thread.Sleep(20);
            }
        }
    }
}

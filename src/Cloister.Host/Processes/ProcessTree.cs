using System.Globalization;

namespace Cloister.Host.Processes;

/// <summary>Finds processes below a given one through <c>/proc</c>.</summary>
internal static class ProcessTree
{
    /// <summary>
    /// The first descendant of <paramref name="ancestor"/> whose id in its innermost PID namespace is <paramref name="namespacePid"/>:
    /// in a bubblewrap sandbox, PID 1 is bubblewrap's init and PID 2 the command it started.
    /// </summary>
    public static int? FindDescendantByNamespacePid(int ancestor, int namespacePid)
    {
        var processes = new List<(int Pid, int Parent, int InnermostPid)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ReadStatus(pid) is { } status)
            {
                processes.Add((pid, status.Parent, status.InnermostPid));
            }
        }

        var descendants = new HashSet<int> { ancestor };
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (pid, parent, innermost) in processes)
            {
                if (descendants.Contains(parent) && descendants.Add(pid))
                {
                    grew = true;
                    if (innermost == namespacePid)
                    {
                        return pid;
                    }
                }
            }
        }

        return null;
    }

    private static (int Parent, int InnermostPid)? ReadStatus(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process ended while we looked.
            return null;
        }

        int? parent = null;
        int? innermost = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("PPid:", StringComparison.Ordinal))
            {
                parent = int.Parse(line.AsSpan(5).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("NSpid:", StringComparison.Ordinal))
            {
                var ids = line[6..].Split('\t', StringSplitOptions.RemoveEmptyEntries);
                innermost = int.Parse(ids[^1], CultureInfo.InvariantCulture);
            }
        }

        return parent is { } p && innermost is { } i ? (p, i) : null;
    }
}

namespace Cloister.Build.Supervisor;

/// <summary>
/// Resolves sonames the way the loader would with <c>--library-path</c> set to the search directories, following each
/// library's own <c>DT_NEEDED</c> until nothing new is needed.
/// </summary>
internal sealed class SharedLibraryClosure(ushort machine, IReadOnlyList<string> searchDirectories)
{
    private readonly SortedDictionary<string, string> _resolved = new(StringComparer.Ordinal);

    /// <summary>Soname → the regular file (symbolic links resolved) it was found as, sorted by soname.</summary>
    public IReadOnlyDictionary<string, string> Resolved => _resolved;

    public void AddNeededBy(ElfLinkInfo elf, string who)
    {
        foreach (var soName in elf.Needed)
        {
            Add(soName, who);
        }
    }

    public void Add(string soName, string neededBy)
    {
        if (_resolved.ContainsKey(soName))
        {
            return;
        }

        var path = Find(soName, neededBy);
        _resolved.Add(soName, path);
        AddNeededBy(ElfLinkInfo.Read(path), soName);
    }

    private string Find(string soName, string neededBy)
    {
        foreach (var directory in searchDirectories)
        {
            var candidate = new FileInfo(Path.Combine(directory, soName));
            if (!candidate.Exists)
            {
                continue;
            }

            var file = candidate.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate.FullName;
            // Multilib machines keep same-named 32-bit libraries in some of these directories; the loader skips them too.
            if (ElfLinkInfo.Read(file).Machine == machine)
            {
                return file;
            }
        }

        throw new FileNotFoundException(
            $"{soName} (needed by {neededBy}) is in none of {string.Join(", ", searchDirectories)}; install it on the build machine",
            soName);
    }
}

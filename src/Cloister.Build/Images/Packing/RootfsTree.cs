using System.Runtime.Versioning;

namespace Cloister.Build.Images.Packing;

/// <summary>
/// The files of a packed image, keyed by layer path in ordinal order (so every directory precedes its contents and
/// the tar is the same on every run). Parent directories appear on their own, 0755 and owned by root.
/// </summary>
internal sealed class RootfsTree
{
    internal const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101;
    internal const UnixFileMode ExecutableMode = (UnixFileMode)0b111_101_101;
    internal const UnixFileMode DataMode = (UnixFileMode)0b110_100_100;

    private readonly SortedDictionary<string, RootfsEntry> _entries = new(StringComparer.Ordinal);

    public IEnumerable<RootfsEntry> Entries => _entries.Values;

    public void Add(RootfsEntry entry)
    {
        AddParents(entry.Path);
        if (_entries.TryGetValue(entry.Path, out var existing))
        {
            if (existing.Kind != RootfsEntryKind.Directory || entry.Kind != RootfsEntryKind.Directory)
            {
                throw new FormatException($"/{entry.Path} would come both from {existing.Origin} and from {entry.Origin}");
            }

            // Directories merge: an explicit one replaces a parent made on the way; otherwise the first keeps its mode.
            if (!existing.IsImplicit || entry.IsImplicit)
            {
                return;
            }
        }

        _entries[entry.Path] = entry;
    }

    /// <summary>Copies a file, a directory (recursively, symbolic links kept as links) or what a link at the top points to.</summary>
    [UnsupportedOSPlatform("windows")]
    public void AddFromHost(string source, string path, string origin)
    {
        var info = new FileInfo(source);
        if (info.Exists)
        {
            var file = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
            Add(RootfsEntry.CopyOf(path, file, File.GetUnixFileMode(file), origin));
            return;
        }

        var directory = new DirectoryInfo(source);
        if (!directory.Exists)
        {
            throw new FileNotFoundException($"{origin}: no such file or directory: {source}", source);
        }

        Add(RootfsEntry.Directory(path, directory.UnixFileMode, ImageUser.Root, origin));
        foreach (var child in directory.EnumerateFileSystemInfos())
        {
            var childPath = $"{path}/{child.Name}";
            if (child.LinkTarget is { } target)
            {
                Add(RootfsEntry.SymbolicLink(childPath, target, origin));
            }
            else if (child is DirectoryInfo)
            {
                AddFromHost(child.FullName, childPath, origin);
            }
            else
            {
                Add(RootfsEntry.CopyOf(childPath, child.FullName, child.UnixFileMode, origin));
            }
        }
    }

    private void AddParents(string path)
    {
        for (var parent = ImagePath.Parent(path); parent is not null; parent = ImagePath.Parent(parent))
        {
            if (_entries.TryGetValue(parent, out var existing))
            {
                if (existing.Kind != RootfsEntryKind.Directory)
                {
                    throw new FormatException($"/{path} needs /{parent} to be a directory, but {existing.Origin} makes it a {existing.Kind}");
                }

                return;
            }

            _entries[parent] = RootfsEntry.Directory(parent, DirectoryMode, ImageUser.Root, "a parent directory", isImplicit: true);
        }
    }
}

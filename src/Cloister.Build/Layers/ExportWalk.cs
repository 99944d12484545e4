namespace Cloister.Build.Layers;

/// <summary>
/// Docker's export walk (Go <c>filepath.Walk</c> over the container's merged overlay mount) over a stack of trees.
/// </summary>
internal static class ExportWalk
{
    /// <summary>
    /// Walks the merge of <paramref name="layersTopFirst"/> the way overlayfs presents it: for each name the topmost
    /// tree that has it decides; a directory there merges the children of the same directory in the trees below, down
    /// to the first tree where the name is not a directory. Within a directory names are sorted bytewise.
    /// </summary>
    public static List<FlattenedEntry> Walk(IReadOnlyList<TreeNode> layersTopFirst)
    {
        var entries = new List<FlattenedEntry>();
        var firstPaths = new Dictionary<Inode, string>(ReferenceEqualityComparer.Instance);
        WalkDirectory(string.Empty, [.. layersTopFirst], entries, firstPaths);
        return entries;
    }

    private static void WalkDirectory(
        string prefix, List<TreeNode> directoriesTopFirst, List<FlattenedEntry> entries, Dictionary<Inode, string> firstPaths)
    {
        var names = new SortedSet<string>(Utf8Ordinal.Instance);
        foreach (var directory in directoriesTopFirst)
        {
            names.UnionWith(directory.Children!.Keys);
        }

        foreach (var name in names)
        {
            var path = prefix + name;
            var visible = new List<TreeNode>();
            foreach (var directory in directoriesTopFirst)
            {
                if (directory.Children!.TryGetValue(name, out var node))
                {
                    if (visible.Count > 0 && !node.Inode.IsDirectory)
                    {
                        break;
                    }

                    visible.Add(node);
                    if (!node.Inode.IsDirectory)
                    {
                        break;
                    }
                }
            }

            var top = visible[0].Inode;
            if (top.IsDirectory)
            {
                entries.Add(new FlattenedEntry(path, top, hardLinkTarget: null));
                WalkDirectory(path + "/", visible, entries, firstPaths);
                continue;
            }

            // Docker marks the second and later paths of an inode with more than one link as TypeLink to the first.
            string? first = null;
            if (top.LinkCount > 1 && !firstPaths.TryAdd(top, path))
            {
                first = firstPaths[top];
            }

            entries.Add(new FlattenedEntry(path, top, first));
        }
    }
}

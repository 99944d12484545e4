namespace Cloister.Build.Layers;

/// <summary>One name in the flattened tree. Directories own their children; every other node points at an inode.</summary>
internal sealed class TreeNode
{
    private TreeNode(Inode inode, Dictionary<string, TreeNode>? children)
    {
        Inode = inode;
        Children = children;
    }

    public Inode Inode { get; }

    /// <summary>Children by name; non-null exactly for directories.</summary>
    public Dictionary<string, TreeNode>? Children { get; }

    public static TreeNode For(Inode inode) =>
        new(inode, inode.IsDirectory ? new Dictionary<string, TreeNode>(StringComparer.Ordinal) : null);
}

using System.Formats.Tar;
using Cloister.Build.Cpio;
using Cloister.Build.Layers;

namespace Cloister.Build.Ramdisks;

/// <summary>
/// The read-only layer <c>docker create</c> puts on top of every image (moby <c>daemon/initlayer</c>): it guarantees
/// these paths exist whatever the image holds, and overlayfs takes <c>/dev</c> and <c>/etc</c>'s metadata from it.
/// </summary>
/// <remarks>
/// Docker stamps these with the creation time; every one of them is later excluded, replaced or touched by
/// linuxkit (§3.4), so the time used here never reaches the ramdisk.
/// </remarks>
internal static class DockerInitLayer
{
    private const UnixFileMode Mode0755 = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Mode0777 = (UnixFileMode)0b111_111_111;

    public static TreeNode Create()
    {
        var root = Node(TarEntryType.Directory, Mode0755);
        var dev = Add(root, "dev", TarEntryType.Directory, Mode0755);
        Add(dev, "pts", TarEntryType.Directory, Mode0755);
        Add(dev, "shm", TarEntryType.Directory, Mode0755);
        Add(dev, "console", TarEntryType.RegularFile, Mode0755);
        Add(root, "proc", TarEntryType.Directory, Mode0755);
        Add(root, "sys", TarEntryType.Directory, Mode0755);
        Add(root, ".dockerenv", TarEntryType.RegularFile, Mode0755);
        var etc = Add(root, "etc", TarEntryType.Directory, Mode0755);
        Add(etc, "resolv.conf", TarEntryType.RegularFile, Mode0755);
        Add(etc, "hosts", TarEntryType.RegularFile, Mode0755);
        Add(etc, "hostname", TarEntryType.RegularFile, Mode0755);
        etc.Children!["mtab"] = TreeNode.For(new Inode
        {
            Type = TarEntryType.SymbolicLink,
            Mode = Mode0777,
            ModificationTime = CpioWriter.LinuxKitModTime,
            SymlinkTarget = "/proc/mounts",
        });
        return root;
    }

    private static TreeNode Add(TreeNode parent, string name, TarEntryType type, UnixFileMode mode) =>
        parent.Children![name] = Node(type, mode);

    private static TreeNode Node(TarEntryType type, UnixFileMode mode) =>
        TreeNode.For(new Inode { Type = type, Mode = mode, ModificationTime = CpioWriter.LinuxKitModTime });
}

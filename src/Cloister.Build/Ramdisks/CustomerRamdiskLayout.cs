using System.Formats.Tar;
using System.Text;
using Cloister.Build.Cpio;
using Cloister.Build.Layers;
using Cloister.Runtime.Manifest;

namespace Cloister.Build.Ramdisks;

/// <summary>
/// The entry sequence of the customer ramdisk exactly as nitro-cli's linuxkit writes it (reference eif-nsm-spec §3.4):
/// <c>rootfs</c>; the image as <c>docker export</c> streams a fresh container (Docker's init layer on top), renamed
/// under <c>rootfs/</c> with linuxkit's exclusions, replacements and touches; then the <c>files:</c> section with
/// <c>cmd</c> and <c>env</c>.
/// </summary>
/// <remarks>
/// Step 3 of §3.4 (appending touched names the export lacked) never produces an entry here: the init layer creates
/// every touched name, and no image content can hide a name of the topmost layer.
/// </remarks>
public static class CustomerRamdiskLayout
{
    private const string Prefix = "rootfs/";
    private const string SupervisorDirectory = "rootfs" + EnclavePaths.Root;
    private const UnixFileMode Mode0755 = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Mode0644 = (UnixFileMode)0b110_100_100;

    /// <summary>linuxkit's fixed <c>/etc/hosts</c> (160 bytes).</summary>
    private static readonly byte[] _hosts = Encoding.ASCII.GetBytes(
        "127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\n" +
        "ff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n");

    /// <summary>Docker export names linuxkit drops. <c>dev/pts</c> and <c>dev/shm</c> never match: Docker writes <c>dev/pts/</c>.</summary>
    private static readonly HashSet<string> _excluded = new(StringComparer.Ordinal)
    {
        ".dockerenv", "Dockerfile", "dev/console", "dev/pts", "dev/shm", "etc/hostname",
    };

    /// <summary>Docker export names whose mtime linuxkit forces to <see cref="CpioWriter.LinuxKitModTime"/>.</summary>
    private static readonly HashSet<string> _touched = new(StringComparer.Ordinal)
    {
        "dev/", "dev/pts/", "dev/shm/", "etc/", "etc/mtab", "proc/", "sys/",
    };

    /// <summary>Directories of nitro-cli's <c>files:</c> section, in its order.</summary>
    private static readonly string[] _filesSectionDirectories =
        ["rootfs", "rootfs/dev", "rootfs/run", "rootfs/sys", "rootfs/var", "rootfs/proc", "rootfs/tmp"];

    /// <summary>Lays out the customer ramdisk of <paramref name="image"/>.</summary>
    /// <param name="image">The flattened image; its spool must stay alive while the entries are written.</param>
    /// <param name="options">The <c>cmd</c> and <c>env</c> lines and any supervisor files.</param>
    /// <returns>The entries in archive order, without the trailer.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A supervisor entry is not below <c>rootfs/cloister</c> or appears twice.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> is disposed.</exception>
    /// <exception cref="InvalidOperationException">A layer of <paramref name="image"/> was refused.</exception>
    public static IReadOnlyList<RamdiskEntry> Create(LayerFlattener image, CustomerRamdiskOptions options)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Command);
        ArgumentNullException.ThrowIfNull(options.Environment);
        ArgumentNullException.ThrowIfNull(options.SupervisorEntries);
        image.ThrowIfUnusable();

        List<TreeNode> layers = [DockerInitLayer.Create()];
        if (options.SupervisorEntries.Count > 0)
        {
            layers.Add(SupervisorTree(options.SupervisorEntries));
        }

        layers.Add(image.Root);

        var entries = new List<RamdiskEntry> { Directory("rootfs") };
        foreach (var exported in ExportWalk.Walk(layers))
        {
            var name = exported.Inode.IsDirectory ? exported.Path + "/" : exported.Path;
            if (!_excluded.Contains(name))
            {
                entries.Add(Convert(exported, name));
            }
        }

        entries.AddRange(_filesSectionDirectories.Select(Directory));
        entries.Add(LinesFile("cmd", options.Command));
        entries.Add(LinesFile("env", options.Environment));
        return entries;
    }

    /// <summary>Writes the customer ramdisk of <paramref name="image"/>: the entries of <see cref="Create"/>, trailer, padding.</summary>
    /// <param name="output">Receives the uncompressed cpio newc archive.</param>
    /// <param name="image">The flattened image.</param>
    /// <param name="options">The <c>cmd</c> and <c>env</c> lines and any supervisor files.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A supervisor entry is not below <c>rootfs/cloister</c> or appears twice.</exception>
    /// <exception cref="FormatException">An mtime or owner ID of the image does not fit cpio's 32-bit fields.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> is disposed.</exception>
    /// <exception cref="InvalidOperationException">A layer of <paramref name="image"/> was refused.</exception>
    /// <exception cref="IOException">Writing or reading the spool failed.</exception>
    public static void Write(Stream output, LayerFlattener image, CustomerRamdiskOptions options)
    {
        ArgumentNullException.ThrowIfNull(output);
        var entries = Create(image, options);
        using var writer = new CpioWriter(output, leaveOpen: true);
        foreach (var entry in entries)
        {
            using var data = entry.OpenRead();
            writer.WriteEntry(entry.ToCpioEntry(), data);
        }

        writer.Finish();
    }

    private static RamdiskEntry Convert(FlattenedEntry exported, string name)
    {
        var inode = exported.Inode;
        switch (name)
        {
            case "etc/hosts":
                return RamdiskEntry.File(Prefix + name, _hosts, inode.Mode, inode.Uid, inode.Gid, CpioWriter.LinuxKitModTime);
            case "etc/resolv.conf":
                return RamdiskEntry.SymbolicLink(
                    Prefix + name, "/run/resolvconf/resolv.conf", inode.Mode, inode.Uid, inode.Gid, CpioWriter.LinuxKitModTime);
        }

        var modificationTime = _touched.Contains(name) ? CpioWriter.LinuxKitModTime : inode.ModificationTime;
        if (exported.HardLinkTarget is { } first)
        {
            // linuxkit turns tar hard links into symlinks relative to the link's directory (initrd.go typeconv).
            var target = RelativePath(ParentOf(Prefix + name), Prefix + first);
            return RamdiskEntry.FromImage(Prefix + name, CpioEntryType.SymbolicLink, inode, target, modificationTime);
        }

        var type = inode.Type switch
        {
            TarEntryType.RegularFile => CpioEntryType.RegularFile,
            TarEntryType.Directory => CpioEntryType.Directory,
            TarEntryType.SymbolicLink => CpioEntryType.SymbolicLink,
            TarEntryType.CharacterDevice => CpioEntryType.CharacterDevice,
            TarEntryType.BlockDevice => CpioEntryType.BlockDevice,
            _ => CpioEntryType.Fifo,
        };
        return RamdiskEntry.FromImage(Prefix + name, type, inode, inode.SymlinkTarget, modificationTime);
    }

    /// <summary>Go's <c>filepath.Rel</c> for two clean relative paths.</summary>
    internal static string RelativePath(string basePath, string targetPath)
    {
        var from = basePath.Split('/');
        var to = targetPath.Split('/');
        var common = 0;
        while (common < from.Length && common < to.Length && from[common] == to[common])
        {
            common++;
        }

        var parts = Enumerable.Repeat("..", from.Length - common).Concat(to.Skip(common)).ToArray();
        return parts.Length == 0 ? "." : string.Join('/', parts);
    }

    private static string ParentOf(string path) => path[..path.LastIndexOf('/')];

    private static RamdiskEntry Directory(string name) => RamdiskEntry.Directory(name, Mode0755, 0, 0, CpioWriter.LinuxKitModTime);

    private static RamdiskEntry LinesFile(string name, IReadOnlyList<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }

        return RamdiskEntry.File(name, Encoding.UTF8.GetBytes(text.ToString()), Mode0644, 0, 0, CpioWriter.LinuxKitModTime);
    }

    private static TreeNode SupervisorTree(IReadOnlyList<RamdiskEntry> supervisorEntries)
    {
        var root = TreeNode.For(new Inode { Type = TarEntryType.Directory, Mode = Mode0755 });
        var explicitNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in supervisorEntries)
        {
            ArgumentNullException.ThrowIfNull(entry);
            if (entry.Type is not (CpioEntryType.Directory or CpioEntryType.RegularFile or CpioEntryType.SymbolicLink)
                || !(entry.Name == SupervisorDirectory || entry.Name.StartsWith(SupervisorDirectory + "/", StringComparison.Ordinal))
                || LayerPath.TrySplit(entry.Name[Prefix.Length..], out var path) is not null
                || LayerPath.Join(path) != entry.Name[Prefix.Length..])
            {
                throw new ArgumentException(
                    $"supervisor entry '{entry.Name}' must be a clean path at or below {SupervisorDirectory}", nameof(supervisorEntries));
            }

            if (!explicitNames.Add(entry.Name))
            {
                throw new ArgumentException($"supervisor entry '{entry.Name}' appears twice", nameof(supervisorEntries));
            }

            var parent = root;
            foreach (var component in path[..^1])
            {
                if (!parent.Children!.TryGetValue(component, out var child))
                {
                    child = parent.Children[component] = TreeNode.For(
                        new Inode { Type = TarEntryType.Directory, Mode = Mode0755, ModificationTime = CpioWriter.LinuxKitModTime });
                }

                parent = child.Children is null
                    ? throw new ArgumentException($"supervisor entry '{entry.Name}' lies below a non-directory", nameof(supervisorEntries))
                    : child;
            }

            Place(parent, path[^1], entry, supervisorEntries);
        }

        return root;
    }

    private static void Place(TreeNode parent, string leaf, RamdiskEntry entry, IReadOnlyList<RamdiskEntry> supervisorEntries)
    {
        var inode = new Inode
        {
            Type = entry.Type switch
            {
                CpioEntryType.Directory => TarEntryType.Directory,
                CpioEntryType.SymbolicLink => TarEntryType.SymbolicLink,
                _ => TarEntryType.RegularFile,
            },
            Mode = entry.Mode,
            Uid = entry.Uid,
            Gid = entry.Gid,
            ModificationTime = entry.ModificationTime,
            SymlinkTarget = entry.LinkTarget,
            Content = entry.Content,
        };
        if (parent.Children!.TryGetValue(leaf, out var existing))
        {
            // Only an implicit parent can already be here (names are unique); the explicit entry gives its metadata.
            if (!inode.IsDirectory)
            {
                throw new ArgumentException($"supervisor entry '{entry.Name}' is also a parent of another entry", nameof(supervisorEntries));
            }

            existing.Inode.TakeMetadataFrom(inode);
            return;
        }

        parent.Children[leaf] = TreeNode.For(inode);
    }
}

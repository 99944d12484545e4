using Cloister.Build.Cpio;
using Cloister.Host.Processes;

namespace Cloister.Host.Simulation;

/// <summary>
/// Unpacks newc ramdisks into a directory the way the kernel unpacks them into its initramfs: one after the other,
/// later entries replacing earlier ones, with modes, owners, times, symbolic links, FIFOs and device nodes.
/// </summary>
/// <remarks>
/// Owners and device nodes need root; as another user files keep the caller's owner and device entries are skipped
/// (the sandbox mounts its own <c>/dev</c> anyway). Unlike the kernel, which starts from an empty root, no entry may be
/// written through a symbolic link: here the links would resolve against the host's file system.
/// </remarks>
public static class RamdiskUnpacker
{
    /// <summary>Unpacks one ramdisk into <paramref name="destination"/> (created when missing).</summary>
    /// <param name="ramdisk">The cpio archive, read to its trailer.</param>
    /// <param name="destination">The directory that stands for the initramfs root.</param>
    /// <param name="ramdiskName">How messages name this ramdisk, e.g. <c>ramdisk 1</c>.</param>
    /// <returns>How many entries were unpacked.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="CpioFormatException">The archive is malformed.</exception>
    /// <exception cref="InvalidDataException">An entry would be written through a symbolic link.</exception>
    /// <exception cref="IOException">Writing failed.</exception>
    public static int Unpack(Stream ramdisk, string destination, string ramdiskName)
    {
        ArgumentNullException.ThrowIfNull(ramdisk);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(ramdiskName);
        var root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        var asRoot = Posix.IsRoot;
        // Directory times are set last, creating their children would move them again; a later entry's time wins.
        var directoryTimes = new Dictionary<string, uint>(StringComparer.Ordinal);
        var count = 0;
        using var reader = new CpioReader(ramdisk, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = NormalizeName(entry.Name);
            var path = name.Length == 0 ? root : Path.Combine(root, name);
            if (path != root)
            {
                EnsureRealParents(root, path, name, ramdiskName);
                ReplaceUnlessBothDirectories(path, entry.Type);
            }

            switch (entry.Type)
            {
                case CpioEntryType.Directory:
                    Directory.CreateDirectory(path);
                    directoryTimes[path] = entry.ModificationTime;
                    break;
                case CpioEntryType.RegularFile:
                    using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                    {
                        entry.DataStream!.CopyTo(output);
                    }

                    break;
                case CpioEntryType.SymbolicLink:
                    File.CreateSymbolicLink(path, entry.LinkTarget!);
                    break;
                case CpioEntryType.CharacterDevice or CpioEntryType.BlockDevice when !asRoot:
                    continue;
                default:
                    Posix.MakeNode(path, entry.Mode, entry.RdevMajor, entry.RdevMinor);
                    break;
            }

            if (asRoot)
            {
                Posix.ChangeOwner(path, entry.Uid, entry.Gid);
            }

            // After chown, which clears set-id bits; links have no mode of their own.
            if (entry.Type != CpioEntryType.SymbolicLink)
            {
                File.SetUnixFileMode(path, (UnixFileMode)entry.Permissions);
            }

            if (entry.Type != CpioEntryType.Directory)
            {
                Posix.SetTimes(path, entry.ModificationTime);
            }

            count++;
        }

        foreach (var (directory, time) in directoryTimes)
        {
            Posix.SetTimes(directory, time);
        }

        return count;
    }

    /// <summary>The name as the kernel resolves it: <c>./etc/</c> and <c>etc</c> are the same entry, <c>.</c> is the root.</summary>
    internal static string NormalizeName(string name)
    {
        var trimmed = name.TrimEnd('/');
        while (trimmed.StartsWith("./", StringComparison.Ordinal))
        {
            trimmed = trimmed[2..];
        }

        return trimmed == "." ? "" : trimmed;
    }

    private static void EnsureRealParents(string root, string path, string name, string ramdiskName)
    {
        var parent = Path.GetDirectoryName(path)!;
        for (var current = parent; current.Length > root.Length; current = Path.GetDirectoryName(current)!)
        {
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new InvalidDataException(
                    $"{ramdiskName}: entry '{name}' would be written through the symbolic link '{Path.GetRelativePath(root, current)}'");
            }
        }

        // As the kernel, tolerate archives that omit a parent directory.
        Directory.CreateDirectory(parent);
    }

    private static void ReplaceUnlessBothDirectories(string path, CpioEntryType type)
    {
        var existing = new FileInfo(path);
        if (!existing.Exists && existing.LinkTarget is null && !Directory.Exists(path))
        {
            return;
        }

        var isDirectory = existing.LinkTarget is null && existing.Attributes.HasFlag(FileAttributes.Directory);
        if (isDirectory && type == CpioEntryType.Directory)
        {
            return;
        }

        if (isDirectory)
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }
}

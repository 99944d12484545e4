using System.Formats.Tar;
using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Build.Enclaves;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Build.Layers;
using Cloister.Build.Manifests;
using Cloister.Testing;

namespace Cloister.Build.Tests.Layers;

/// <summary>
/// Builds a multi-layer OCI image with umoci (repack emits whiteouts and hard links; a hand-made layer adds an opaque
/// directory and a link into a lower layer), then checks that our flattened tree equals what <c>umoci unpack</c> puts
/// on disk, compared with lstat: names, types, modes, owners, mtimes, link targets, contents and hard-link groups.
/// </summary>
public sealed class UmociInteropTests : IDisposable
{
    private const string FirstLayer = """
        set -e
        mkdir -p usr/bin usr/sbin usr/lib etc/app var/cache/data home/user dev run opt/keep srv
        printf tool > usr/bin/tool && chmod 0755 usr/bin/tool
        ln usr/bin/tool usr/bin/tool-hard && ln usr/bin/tool usr/sbin/tool-sbin
        printf suid > usr/bin/su-tool && chmod 4755 usr/bin/su-tool
        printf sgid > usr/bin/sg-tool && chmod 2711 usr/bin/sg-tool
        chmod 1777 srv
        printf secret > etc/app/secret && chmod 0000 etc/app/secret
        printf conf > etc/app/config
        printf data > var/cache/data/blob
        printf lib > usr/lib/libc.so
        printf home > home/user/.profile && printf gone > home/user/gone && chown -R 1000:1000 home/user
        printf nobody > opt/keep/nobody && chown 65534:65534 opt/keep/nobody
        ln -s ../usr/bin/tool bin-tool && ln -s /etc/app/config etc/config-link
        mknod dev/null-dev c 1 3 && mknod dev/loop-dev b 7 0 && mkfifo run/fifo
        find . -exec touch -h -d @1600000000 {} +
        """;

    private const string SecondLayer = """
        set -e
        rm usr/bin/tool-hard
        rm -r var/cache/data
        printf v2 > etc/app/config
        chmod 0700 opt/keep && chown 1000:1000 opt/keep
        rm -r usr/lib && ln -s ../lib usr/lib
        printf new > opt/new
        touch -h -d @1700000000 usr/bin usr var/cache etc/app etc/app/config opt/keep opt opt/new usr/lib
        """;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Flattened_tree_matches_umoci_unpack()
    {
        var (image, expected) = BuildImage();

        using var source = ImageSource.Create(ImageReference.Parse($"oci-layout:{image}:t"), new RegistryOptions(_scratch.Combine("cache")));
        var resolved = await source.ResolveAsync();
        Assert.Equal(3, resolved.Layers.Count);
        var written = new List<List<string>>();
        foreach (var layer in resolved.Layers)
        {
            await using var stream = await layer.OpenAsync();
            written.Add(EntryNames(stream));
        }

        Assert.Contains("usr/bin/tool-hard -> usr/bin/tool", written[0]);
        Assert.Contains("usr/bin/.wh.tool-hard", written[1]);
        Assert.Contains("var/cache/.wh.data", written[1]);
        Assert.Contains("etc/app/.wh..wh..opq", written[2]);
        using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });
        foreach (var layer in resolved.Layers)
        {
            await using var stream = await layer.OpenAsync();
            await flattener.ApplyLayerAsync(stream, layer.Descriptor.Digest);
        }

        var actual = flattener.Export();
        var onDisk = Lstat(Path.Combine(expected, "rootfs"));
        Assert.Equal(onDisk.Keys.Order(StringComparer.Ordinal), actual.Select(e => e.Path).Order(StringComparer.Ordinal));
        foreach (var entry in actual)
        {
            var disk = onDisk[entry.Path];
            var type = entry.EntryType == TarEntryType.HardLink ? TarEntryType.RegularFile : entry.EntryType;
            Assert.Equal((entry.Path, disk.Type, disk.Mode, disk.Uid, disk.Gid, disk.ModificationTime), (entry.Path, type, entry.Mode, entry.Uid, entry.Gid, entry.ModificationTime));
            Assert.Equal((entry.Path, disk.Major, disk.Minor), (entry.Path, entry.DeviceMajor, entry.DeviceMinor));
            var path = Path.Combine(expected, "rootfs", entry.Path);
            if (type == TarEntryType.SymbolicLink)
            {
                Assert.Equal(new FileInfo(path).LinkTarget, entry.LinkName);
            }
            else if (type == TarEntryType.RegularFile)
            {
                using var content = new MemoryStream();
                using (var stream = entry.OpenRead())
                {
                    stream.CopyTo(content);
                }

                Assert.Equal(File.ReadAllBytes(path), content.ToArray());
            }
        }

        Assert.Equal(HardLinkGroups(onDisk), HardLinkGroups(actual));
        Assert.Contains("opt/tool-again usr/bin/tool usr/sbin/tool-sbin", HardLinkGroups(actual));
        Assert.DoesNotContain(actual, e => e.Path is "etc/app/config" or "var/cache/data" or "home/user/gone" or "usr/bin/tool-hard");
    }

    [Fact]
    public async Task Customer_ramdisk_of_a_build_holds_what_umoci_unpacks()
    {
        var (image, expected) = BuildImage();
        File.WriteAllText(_scratch.Combine("enclave.yaml"), $"name: rich\nimage: oci-layout:{image}:t\ncmd: [/usr/bin/tool]\n");

        var result = await EnclaveImageBuilder.BuildAsync(
            EnclaveManifestReader.Parse(File.ReadAllText(_scratch.Combine("enclave.yaml"))),
            new EnclaveBuildOptions
            {
                OutputDirectory = _scratch.Combine("out"),
                TemporaryDirectory = _scratch.Combine("tmp"),
                Registry = new RegistryOptions(_scratch.Combine("cache")),
                Runtime = EnclaveRuntime.None,
                BuildTime = DateTimeOffset.UnixEpoch,
            });

        var ramdisk = new Dictionary<string, (CpioEntry Entry, byte[] Data)>(StringComparer.Ordinal);
        using (var eif = EifReader.Open(result.ImagePath))
        using (var section = eif.OpenSection(eif.Sections.Where(s => s.Type == EifSectionType.Ramdisk).ElementAt(1)))
        using (var reader = new CpioReader(section))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                if (entry.Name.StartsWith("rootfs/", StringComparison.Ordinal))
                {
                    ramdisk[entry.Name["rootfs/".Length..].TrimEnd('/')] = (entry, data.ToArray());
                }
            }
        }

        var onDisk = Lstat(Path.Combine(expected, "rootfs"));
        var hardLinkTargets = HardLinkGroups(onDisk).Select(g => g.Split(' ')).ToDictionary(g => g[0], g => g[1..]);
        foreach (var (path, disk) in onDisk)
        {
            var (entry, data) = ramdisk[path];
            // Docker's init layer and linuxkit's files section rewrite these (spec §3.4); the layout tests check exactly how.
            if (path is "dev" or "etc" or "proc" or "sys" or "run" or "var" or "tmp" or "etc/hosts" or "etc/resolv.conf" or "etc/mtab")
            {
                continue;
            }

            if (hardLinkTargets.Values.Any(others => others.Contains(path)))
            {
                // linuxkit turns the second and later names of a hard-linked file into relative symlinks to the first.
                var first = hardLinkTargets.Single(g => g.Value.Contains(path)).Key;
                Assert.Equal((path, CpioEntryType.SymbolicLink), (path, entry.Type));
                Assert.Equal(first, Path.GetRelativePath("/", Path.GetFullPath(entry.LinkTarget!, "/" + Path.GetDirectoryName(path))));
                continue;
            }

            Assert.Equal((path, disk.Mode, disk.Uid, disk.Gid, disk.ModificationTime), (path, (UnixFileMode)entry.Permissions, (int)entry.Uid, (int)entry.Gid, (long)entry.ModificationTime));
            Assert.Equal((path, disk.Major, disk.Minor), (path, (int)entry.RdevMajor, (int)entry.RdevMinor));
            var full = Path.Combine(expected, "rootfs", path);
            switch (disk.Type)
            {
                case TarEntryType.SymbolicLink:
                    Assert.Equal((path, new FileInfo(full).LinkTarget), (path, entry.LinkTarget));
                    break;
                case TarEntryType.RegularFile:
                    Assert.Equal(File.ReadAllBytes(full), data);
                    break;
            }
        }

        Assert.Empty(ramdisk.Keys.Except(onDisk.Keys).Except(["", ".dockerenv", "dev/pts", "dev/shm", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", "proc", "sys", "run", "var", "tmp"]));
    }

    /// <summary>
    /// Two layers from <c>umoci repack</c> (whiteouts, hard links, special modes and owners, devices, a FIFO) and a
    /// hand-made third (an opaque directory, a whiteout, a hard link into a lower layer), and what umoci unpacks.
    /// </summary>
    private (string Image, string Expected) BuildImage()
    {
        var image = _scratch.Combine("image");
        var bundle = _scratch.Combine("bundle");
        ExternalTool.Umoci("init", "--layout", image);
        ExternalTool.Umoci("new", "--image", image + ":t");
        ExternalTool.Umoci("unpack", "--image", image + ":t", bundle);
        var rootfs = Path.Combine(bundle, "rootfs");
        foreach (var script in new[] { FirstLayer, SecondLayer })
        {
            ExternalTool.Run("sh", "dash", "-c", "cd \"$1\" || exit 1\n" + script, "sh", rootfs);
            ExternalTool.Umoci("repack", "--refresh-bundle", "--history.created", "2020-09-13T12:26:40Z", "--image", image + ":t", bundle);
        }

        var layer3 = _scratch.Combine("layer3.tar");
        File.WriteAllBytes(layer3, new LayerTar()
            .Directory("etc/app/", mode: 0b111_101_000, mtime: 1_800_000_000)
            .Whiteout("etc/app/.wh..wh..opq")
            .File("etc/app/fresh", "fresh", mtime: 1_800_000_000)
            .Whiteout("home/user/.wh.gone")
            .HardLink("opt/tool-again", "usr/bin/tool")
            .ToArray());
        ExternalTool.Umoci("raw", "add-layer", "--history.created", "2020-09-13T12:26:40Z", "--image", image + ":t", layer3);
        var expected = _scratch.Combine("expected");
        ExternalTool.Umoci("unpack", "--image", image + ":t", expected);
        return (image, expected);
    }

    /// <summary>Entry names of a layer, hard links as <c>name -> target</c>, so the test can show umoci wrote what it should.</summary>
    private static List<string> EntryNames(Stream stream)
    {
        using var reader = new TarReader(stream, leaveOpen: true);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            names.Add(entry.EntryType == TarEntryType.HardLink ? $"{name} -> {entry.LinkName.TrimStart('.', '/')}" : name);
        }

        return names;
    }

    private static Dictionary<string, DiskEntry> Lstat(string root)
    {
        var output = ExternalTool.Run(
            "find", "findutils", root, "-mindepth", "1", "-exec", "stat", "--printf", "%n\t%F\t%a\t%u\t%g\t%Y\t%t\t%T\t%i\t%h\n", "{}", "+");
        var entries = new Dictionary<string, DiskEntry>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var type = f[1] switch
            {
                "regular file" or "regular empty file" => TarEntryType.RegularFile,
                "directory" => TarEntryType.Directory,
                "symbolic link" => TarEntryType.SymbolicLink,
                "character special file" => TarEntryType.CharacterDevice,
                "block special file" => TarEntryType.BlockDevice,
                "fifo" => TarEntryType.Fifo,
                _ => throw new InvalidDataException($"unexpected file type {f[1]}"),
            };
            var isDevice = type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice;
            entries[Path.GetRelativePath(root, f[0])] = new DiskEntry(
                type,
                (UnixFileMode)Convert.ToInt32(f[2], 8),
                int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(f[5], System.Globalization.CultureInfo.InvariantCulture),
                isDevice ? Convert.ToInt32(f[6], 16) : 0,
                isDevice ? Convert.ToInt32(f[7], 16) : 0,
                f[8],
                int.Parse(f[9], System.Globalization.CultureInfo.InvariantCulture));
        }

        return entries;
    }

    private static List<string> HardLinkGroups(Dictionary<string, DiskEntry> onDisk) =>
        Groups(onDisk.Where(e => e.Value.Type != TarEntryType.Directory && e.Value.LinkCount > 1).Select(e => (e.Value.Inode, e.Key)));

    private static List<string> HardLinkGroups(IEnumerable<FlattenedEntry> entries) =>
        Groups(entries.Where(e => e.EntryType != TarEntryType.Directory).Select(e => (e.EntryType == TarEntryType.HardLink ? e.LinkName! : e.Path, e.Path)));

    private static List<string> Groups(IEnumerable<(string Key, string Path)> members) =>
        members.GroupBy(m => m.Key).Where(g => g.Count() > 1)
            .Select(g => string.Join(' ', g.Select(m => m.Path).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();

    private sealed record DiskEntry(TarEntryType Type, UnixFileMode Mode, int Uid, int Gid, long ModificationTime, int Major, int Minor, string Inode, int LinkCount);
}

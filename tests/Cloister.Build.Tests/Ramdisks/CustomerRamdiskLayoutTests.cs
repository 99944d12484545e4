using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Cpio;
using Cloister.Build.Layers;
using Cloister.Build.Ramdisks;
using Cloister.Build.Tests.Layers;

namespace Cloister.Build.Tests.Ramdisks;

public sealed class CustomerRamdiskLayoutTests : IDisposable
{
    private const long Fixed = 1492533000;
    private const string Hosts =
        "127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\n" +
        "ff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

    private static readonly string[] _filesSection =
        ["rootfs", "rootfs/dev", "rootfs/run", "rootfs/sys", "rootfs/var", "rootfs/proc", "rootfs/tmp", "cmd", "env"];

    private static readonly CustomerRamdiskOptions _shell = new() { Command = ["/bin/sh"], Environment = [] };

    private readonly FlattenerScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Reproduces_the_derived_customer_ramdisk_fixture_byte_for_byte()
    {
        var image = Flatten(new LayerTar()
            .Directory("bin/", mode: 0b111_101_101, mtime: 1_700_000_000)
            .File("bin/hello", "#!/bin/sh\necho hello\n", mode: 0b111_101_101, mtime: 1_700_000_000)
            .ToArray());
        var options = CustomerRamdiskOptions.FromImageConfig(
            cmd: ["/bin/hello"], entrypoint: null, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);

        var ramdisk = Write(image, options);

        var fixture = File.ReadAllBytes(TestVectors.Derived("synthetic-customer.cpio"));
        Assert.Equal(fixture, ramdisk);
        Assert.Equal(
            TestVectors.Expected.GetProperty("unsigned").GetProperty("customer_cpio_sha384").GetString(),
            Convert.ToHexStringLower(SHA384.HashData(ramdisk)));
    }

    [Fact]
    public void An_empty_image_gets_exactly_the_init_layer_and_the_files_section()
    {
        var entries = CustomerRamdiskLayout.Create(Flatten(), _shell);

        Assert.Equal(
            [
                "rootfs", "rootfs/dev/", "rootfs/dev/pts/", "rootfs/dev/shm/", "rootfs/etc/", "rootfs/etc/hosts", "rootfs/etc/mtab",
                "rootfs/etc/resolv.conf", "rootfs/proc/", "rootfs/sys/", .. _filesSection,
            ],
            entries.Select(e => e.Name));
        var mtab = entries.Single(e => e.Name == "rootfs/etc/mtab");
        Assert.Equal((CpioEntryType.SymbolicLink, "/proc/mounts", (UnixFileMode)0b111_111_111, Fixed), (mtab.Type, mtab.LinkTarget, mtab.Mode, mtab.ModificationTime));
        Assert.All(entries.Where(e => e.Type == CpioEntryType.Directory), e => Assert.Equal(((UnixFileMode)0b111_101_101, 0, 0, Fixed), (e.Mode, e.Uid, e.Gid, e.ModificationTime)));
    }

    [Fact]
    public void Excluded_names_are_dropped_but_only_where_linuxkit_matches_them()
    {
        var entries = Names(Flatten(new LayerTar()
            .File("Dockerfile").File(".dockerenv").Directory("app/").File("app/Dockerfile").File("app/.dockerenv")
            .Directory("etc/").File("etc/hostname", "image-host").Directory("dev/").Device("dev/console", System.Formats.Tar.TarEntryType.CharacterDevice, 5, 1)
            .Directory("dev/pts/").ToArray()));

        Assert.DoesNotContain("rootfs/Dockerfile", entries);
        Assert.DoesNotContain("rootfs/.dockerenv", entries);
        Assert.DoesNotContain("rootfs/etc/hostname", entries);
        Assert.DoesNotContain("rootfs/dev/console", entries);
        Assert.Contains("rootfs/app/Dockerfile", entries);
        Assert.Contains("rootfs/app/.dockerenv", entries);
        Assert.Contains("rootfs/dev/pts/", entries);
        Assert.Contains("rootfs/dev/shm/", entries);
    }

    [Fact]
    public void Hosts_and_resolv_conf_are_replaced_keeping_the_init_layers_mode_and_owner()
    {
        var entries = CustomerRamdiskLayout.Create(
            Flatten(new LayerTar()
                .Directory("etc/", mode: 0b111_000_000, uid: 1000, gid: 1000, mtime: 5)
                .File("etc/hosts", "10.0.0.1 evil\n", mode: 0b110_100_100, uid: 1000)
                .File("etc/resolv.conf", "nameserver 8.8.8.8\n", uid: 1000)
                .File("etc/mtab", "not a link")
                .ToArray()),
            _shell);

        var hosts = entries.Single(e => e.Name == "rootfs/etc/hosts");
        Assert.Equal((CpioEntryType.RegularFile, 160L, (UnixFileMode)0b111_101_101, 0, 0, Fixed), (hosts.Type, hosts.Size, hosts.Mode, hosts.Uid, hosts.Gid, hosts.ModificationTime));
        Assert.Equal(Hosts, Read(hosts));
        var resolv = entries.Single(e => e.Name == "rootfs/etc/resolv.conf");
        Assert.Equal((CpioEntryType.SymbolicLink, "/run/resolvconf/resolv.conf", (UnixFileMode)0b111_101_101, Fixed), (resolv.Type, resolv.LinkTarget, resolv.Mode, resolv.ModificationTime));
        Assert.Equal("/run/resolvconf/resolv.conf", Read(resolv));
        var etc = entries.Single(e => e.Name == "rootfs/etc/");
        Assert.Equal(((UnixFileMode)0b111_101_101, 0, 0, Fixed), (etc.Mode, etc.Uid, etc.Gid, etc.ModificationTime));
        Assert.Equal(CpioEntryType.SymbolicLink, entries.Single(e => e.Name == "rootfs/etc/mtab").Type);
    }

    [Fact]
    public void Touched_names_get_linuxkits_mtime_and_everything_else_keeps_the_layers()
    {
        var entries = CustomerRamdiskLayout.Create(
            Flatten(new LayerTar()
                .Directory("dev/", mode: 0b111_111_111, uid: 3, mtime: 7).Directory("dev/shm/", mtime: 8).Directory("proc/", mtime: 9)
                .Directory("sys/", mtime: 10).Directory("usr/", mtime: 11).File("usr/f", mtime: 12).Directory("etc/", mtime: 13).File("etc/passwd", mtime: 14)
                .ToArray()),
            _shell).DistinctBy(e => e.Name).ToDictionary(e => e.Name);

        foreach (var touched in new[] { "rootfs/dev/", "rootfs/dev/pts/", "rootfs/dev/shm/", "rootfs/etc/", "rootfs/proc/", "rootfs/sys/", "rootfs/etc/mtab" })
        {
            Assert.Equal(Fixed, entries[touched].ModificationTime);
        }

        Assert.Equal((11L, 12L, 14L), (entries["rootfs/usr/"].ModificationTime, entries["rootfs/usr/f"].ModificationTime, entries["rootfs/etc/passwd"].ModificationTime));
        Assert.Equal(((UnixFileMode)0b111_101_101, 0), (entries["rootfs/dev/"].Mode, entries["rootfs/dev/"].Uid));
    }

    [Fact]
    public void Image_entries_follow_dockers_walk_with_trailing_slashes_on_directories()
    {
        var names = Names(Flatten(new LayerTar().File("a.b").File("a-b").Directory("a/").File("a/b").Directory("zz/").Directory("zz/y/").ToArray()));

        var image = names.Where(n => n.StartsWith("rootfs/a", StringComparison.Ordinal) || n.StartsWith("rootfs/zz", StringComparison.Ordinal));
        Assert.Equal(["rootfs/a/", "rootfs/a/b", "rootfs/a-b", "rootfs/a.b", "rootfs/zz/", "rootfs/zz/y/"], image);
    }

    [Fact]
    public void Hard_links_become_symlinks_relative_to_the_links_directory()
    {
        var entries = CustomerRamdiskLayout.Create(
            Flatten(new LayerTar()
                .Directory("usr/").Directory("usr/bin/").Directory("usr/lib/").Directory("usr/lib/deep/")
                .File("usr/bin/a", "x", mode: 0b111_101_101, uid: 2, mtime: 99).HardLink("usr/bin/same-dir", "usr/bin/a")
                .HardLink("usr/lib/deep/far", "usr/bin/a").HardLink("top", "usr/bin/a")
                .ToArray()),
            _shell).DistinctBy(e => e.Name).ToDictionary(e => e.Name);

        Assert.Equal(CpioEntryType.RegularFile, entries["rootfs/top"].Type);
        Assert.Equal("../../top", entries["rootfs/usr/bin/a"].LinkTarget);
        Assert.Equal("../../top", entries["rootfs/usr/bin/same-dir"].LinkTarget);
        Assert.Equal("../../../top", entries["rootfs/usr/lib/deep/far"].LinkTarget);
        var link = entries["rootfs/usr/bin/a"];
        Assert.Equal((CpioEntryType.SymbolicLink, (UnixFileMode)0b111_101_101, 2, 99L, 9L), (link.Type, link.Mode, link.Uid, link.ModificationTime, link.Size));
    }

    [Fact]
    public void A_hard_link_whose_first_path_is_excluded_dangles_as_it_does_in_linuxkit()
    {
        var entries = CustomerRamdiskLayout.Create(
            Flatten(new LayerTar().File("Dockerfile", "FROM scratch").Directory("app/").HardLink("app/Dockerfile", "Dockerfile").ToArray()), _shell);

        Assert.DoesNotContain(entries, e => e.Name == "rootfs/Dockerfile");
        var link = entries.Single(e => e.Name == "rootfs/app/Dockerfile");
        Assert.Equal((CpioEntryType.SymbolicLink, "../Dockerfile"), (link.Type, link.LinkTarget));
    }

    [Fact]
    public void The_init_layer_hides_an_image_etc_that_is_not_a_directory()
    {
        var names = Names(Flatten(new LayerTar().Directory("private/").Directory("private/etc/").File("private/etc/passwd").Symlink("etc", "private/etc").ToArray()));

        Assert.Equal(
            ["rootfs/etc/", "rootfs/etc/hosts", "rootfs/etc/mtab", "rootfs/etc/resolv.conf"],
            names.Where(n => n.StartsWith("rootfs/etc", StringComparison.Ordinal)));
        Assert.Contains("rootfs/private/etc/passwd", names);
    }

    [Theory]
    [InlineData("rootfs/a", "rootfs/b", "../b")]
    [InlineData("rootfs/usr/bin", "rootfs/usr/bin/x", "x")]
    [InlineData("rootfs/usr/bin", "rootfs/etc/x", "../../etc/x")]
    [InlineData("rootfs", "rootfs/x", "x")]
    public void Relative_paths_match_go_filepath_rel(string from, string to, string expected) =>
        Assert.Equal(expected, CustomerRamdiskLayout.RelativePath(from, to));

    [Fact]
    public void Cmd_wins_over_entrypoint_and_entrypoint_is_used_only_without_cmd()
    {
        Assert.Equal(["serve"], CustomerRamdiskOptions.FromImageConfig(["serve"], ["/entry"], null).Command);
        Assert.Equal(["/entry", "-x"], CustomerRamdiskOptions.FromImageConfig(null, ["/entry", "-x"], null).Command);
        Assert.Empty(CustomerRamdiskOptions.FromImageConfig(["serve"], null, null).Environment);
        Assert.Throws<ArgumentException>(() => CustomerRamdiskOptions.FromImageConfig(null, null, ["A=1"]));
    }

    [Fact]
    public void Cmd_and_env_files_hold_one_element_per_line_each_ending_in_a_newline()
    {
        var options = CustomerRamdiskOptions.FromImageConfig(["/bin/sh", "-c", "echo hi there"], ["/ignored"], ["A=1", "B=two words", "EMPTY="]);
        var entries = CustomerRamdiskLayout.Create(Flatten(), options);

        var cmd = entries[^2];
        var env = entries[^1];
        Assert.Equal(("cmd", CpioEntryType.RegularFile, (UnixFileMode)0b110_100_100, Fixed), (cmd.Name, cmd.Type, cmd.Mode, cmd.ModificationTime));
        Assert.Equal("/bin/sh\n-c\necho hi there\n", Read(cmd));
        Assert.Equal(("env", (UnixFileMode)0b110_100_100), (env.Name, env.Mode));
        Assert.Equal("A=1\nB=two words\nEMPTY=\n", Read(env));
        Assert.Equal(string.Empty, Read(CustomerRamdiskLayout.Create(Flatten(), _shell)[^1]));
    }

    [Fact]
    public void The_files_section_closes_the_sequence()
    {
        var entries = CustomerRamdiskLayout.Create(Flatten(new LayerTar().File("zzz").ToArray()), _shell);
        Assert.Equal(_filesSection, entries.TakeLast(9).Select(e => e.Name));
        Assert.Equal("rootfs", entries[0].Name);
    }

    [Fact]
    public void Supervisor_files_are_merged_into_the_walk_under_rootfs_cloister()
    {
        var options = new CustomerRamdiskOptions
        {
            Command = ["/cloister/bin/cloister-enclave"],
            Environment = [],
            SupervisorEntries =
            [
                RamdiskEntry.File("rootfs/cloister/enclave.json", "{}"u8.ToArray(), (UnixFileMode)0b110_100_100, 0, 0, Fixed),
                RamdiskEntry.File("rootfs/cloister/bin/cloister-enclave", "ELF"u8.ToArray(), (UnixFileMode)0b111_101_101, 0, 0, Fixed),
                RamdiskEntry.SymbolicLink("rootfs/cloister/lib/ld.so", "ld-2.so", (UnixFileMode)0b111_111_111, 0, 0, Fixed),
                RamdiskEntry.Directory("rootfs/cloister/lib", (UnixFileMode)0b111_000_000, 0, 0, 42),
            ],
        };
        var entries = CustomerRamdiskLayout.Create(Flatten(new LayerTar().Directory("bin/").Directory("cloister/").File("cloister/from-image").ToArray()), options);

        Assert.Equal(
            [
                "rootfs/bin/", "rootfs/cloister/", "rootfs/cloister/bin/", "rootfs/cloister/bin/cloister-enclave", "rootfs/cloister/enclave.json",
                "rootfs/cloister/from-image", "rootfs/cloister/lib/", "rootfs/cloister/lib/ld.so", "rootfs/dev/",
            ],
            entries.Select(e => e.Name).Skip(1).Take(9));
        var byName = entries.DistinctBy(e => e.Name).ToDictionary(e => e.Name);
        Assert.Equal(((UnixFileMode)0b111_000_000, 42L), (byName["rootfs/cloister/lib/"].Mode, byName["rootfs/cloister/lib/"].ModificationTime));
        Assert.Equal(((UnixFileMode)0b111_101_101, Fixed), (byName["rootfs/cloister/bin/"].Mode, byName["rootfs/cloister/bin/"].ModificationTime));
        Assert.Equal("ELF", Read(byName["rootfs/cloister/bin/cloister-enclave"]));
        Assert.Equal("/cloister/bin/cloister-enclave\n", Read(entries[^2]));
    }

    [Theory]
    [InlineData("rootfs/etc/passwd")]
    [InlineData("rootfs/cloisterx")]
    [InlineData("rootfs/cloister/../etc/x")]
    [InlineData("rootfs/cloister//x")]
    [InlineData("cloister/x")]
    public void Supervisor_files_outside_rootfs_cloister_are_refused(string name)
    {
        var options = new CustomerRamdiskOptions
        {
            Command = ["x"],
            Environment = [],
            SupervisorEntries = [RamdiskEntry.File(name, "x"u8.ToArray(), (UnixFileMode)0b110_100_100, 0, 0, Fixed)],
        };
        Assert.Throws<ArgumentException>(() => CustomerRamdiskLayout.Create(Flatten(), options));
    }

    [Fact]
    public void Two_builds_of_the_same_layers_are_byte_identical_and_parse_back()
    {
        byte[][] layers =
        [
            new LayerTar().Directory("usr/").File("usr/a", "alpha", uid: 1000).HardLink("usr/b", "usr/a").Symlink("usr/c", "a")
                .Device("usr/null", System.Formats.Tar.TarEntryType.CharacterDevice, 1, 3).Fifo("usr/pipe").ToArray(),
            new LayerTar().Whiteout("usr/.wh.c").File("usr/d", new byte[70_000]).ToArray(),
        ];
        var options = CustomerRamdiskOptions.FromImageConfig(["/usr/a"], null, ["X=1"]);

        var first = Write(Flatten(layers), options);
        var second = Write(Flatten(layers), options);

        Assert.Equal(first, second);
        Assert.Equal(0, first.Length % 512);
        var expected = CustomerRamdiskLayout.Create(Flatten(layers), options);
        using var reader = new CpioReader(new MemoryStream(first));
        var inode = 721u;
        foreach (var entry in expected)
        {
            var read = reader.GetNextEntry();
            Assert.NotNull(read);
            Assert.Equal((entry.Name, entry.Type, (int)entry.Mode, (uint)entry.Uid, (uint)entry.Gid, (uint)entry.ModificationTime, entry.Size), (read.Name, read.Type, read.Permissions, read.Uid, read.Gid, read.ModificationTime, read.Size));
            Assert.Equal((inode++, (uint)entry.DeviceMajor, (uint)entry.DeviceMinor), (read.Inode, read.RdevMajor, read.RdevMinor));
            if (entry.Type == CpioEntryType.RegularFile)
            {
                Assert.Equal(ReadBytes(entry.OpenRead()), ReadBytes(read.DataStream!));
            }
            else if (entry.Type == CpioEntryType.SymbolicLink)
            {
                Assert.Equal(entry.LinkTarget, read.LinkTarget);
            }
        }

        Assert.Null(reader.GetNextEntry());
    }

    [Fact]
    public void An_mtime_cpio_cannot_store_is_refused_when_writing()
    {
        var image = Flatten(new LayerTar().File("old", mtime: -1).ToArray());
        var error = Assert.Throws<FormatException>(() => Write(image, _shell));
        Assert.Contains("rootfs/old", error.Message, StringComparison.Ordinal);
    }

    private static string Read(RamdiskEntry entry) => Encoding.UTF8.GetString(ReadBytes(entry.OpenRead()));

    private static byte[] ReadBytes(Stream stream)
    {
        using (stream)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }

    private static byte[] Write(LayerFlattener image, CustomerRamdiskOptions options)
    {
        var output = new MemoryStream();
        CustomerRamdiskLayout.Write(output, image, options);
        return output.ToArray();
    }

    private static List<string> Names(LayerFlattener image) => CustomerRamdiskLayout.Create(image, _shell).Select(e => e.Name).ToList();

    private LayerFlattener Flatten(params byte[][] layers) => _scope.Flatten(layers);
}

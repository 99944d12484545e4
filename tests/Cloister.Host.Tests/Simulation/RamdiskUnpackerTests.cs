using System.Globalization;
using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Host.Simulation;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Runtime.Files;
using Cloister.Testing;

namespace Cloister.Host.Tests.Simulation;

public sealed class RamdiskUnpackerTests
{
    [Fact]
    public async Task Unpacked_root_matches_every_cpio_entry_later_ramdisks_winning()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        var root = Path.Combine(harness.Directory, "root");
        using var image = EifReader.Open(harness.ImagePath);
        var unpacked = UnpackedEnclaveImage.Unpack(image, root);

        var expected = new Dictionary<string, (CpioEntry Entry, byte[]? Data)>();
        foreach (var section in image.Sections.Where(s => s.Type == EifSectionType.Ramdisk))
        {
            using var reader = new CpioReader(image.OpenSection(section));
            while (reader.GetNextEntry() is { } entry)
            {
                byte[]? data = null;
                if (entry.DataStream is { } stream)
                {
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    data = buffer.ToArray();
                }

                expected[RamdiskUnpacker.NormalizeName(entry.Name)] = (entry, data);
            }
        }

        // find reports what the file system holds, without following links: type, mode, owner, mtime, device, target.
        var actual = ExternalTool.Run("find", "findutils", root, "-mindepth", "1", "-printf", "%P\t%y\t%m\t%U\t%G\t%T@\t%l\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .ToDictionary(fields => fields[0]);
        Assert.Equal(expected.Keys.Where(name => name.Length > 0).Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (entry, data)) in expected.Where(e => e.Key.Length > 0))
        {
            var fields = actual[name];
            var type = entry.Type switch
            {
                CpioEntryType.Directory => "d",
                CpioEntryType.RegularFile => "f",
                CpioEntryType.SymbolicLink => "l",
                CpioEntryType.CharacterDevice => "c",
                CpioEntryType.BlockDevice => "b",
                CpioEntryType.Fifo => "p",
                _ => "s",
            };
            Assert.True(type == fields[1], $"{name}: type {fields[1]}, expected {type}");
            if (entry.Type != CpioEntryType.SymbolicLink)
            {
                Assert.True(Convert.ToString(entry.Permissions, 8) == fields[2], $"{name}: mode {fields[2]}, expected {Convert.ToString(entry.Permissions, 8)}");
            }

            Assert.True($"{entry.Uid}:{entry.Gid}" == $"{fields[3]}:{fields[4]}", $"{name}: owner {fields[3]}:{fields[4]}, expected {entry.Uid}:{entry.Gid}");
            Assert.True(entry.ModificationTime == (long)double.Parse(fields[5], CultureInfo.InvariantCulture), $"{name}: mtime {fields[5]}, expected {entry.ModificationTime}");
            if (entry.Type == CpioEntryType.SymbolicLink)
            {
                Assert.Equal(entry.LinkTarget, fields[6]);
            }

            if (data is not null)
            {
                Assert.Equal(data, File.ReadAllBytes(Path.Combine(root, name)));
            }
        }

        // The test image's special files arrived as what they are.
        Assert.Equal("c", actual["rootfs/fidelity/null"][1]);
        Assert.Equal("p", actual["rootfs/fidelity/fifo"][1]);
        // The flattener keeps one of two hard-linked names as the file and makes the other a symbolic link to it.
        Assert.Contains(actual.Values, fields => fields[0].StartsWith("rootfs/fidelity/", StringComparison.Ordinal) && fields[1] == "f" && fields[2] == "4750");
        Assert.Equal(["/bin/sh", "/test/enclave.sh", "exit", "0"], unpacked.Command);
        Assert.Equal(TestEnclaveImage.IngressPort, Assert.Single(unpacked.LaunchSpec!.Manifest.Ingress).Port);
    }

    [Fact]
    public void A_later_ramdisk_replaces_files_with_links_and_directories()
    {
        var root = Directory.CreateTempSubdirectory("cloister-unpack-").FullName;
        try
        {
            RamdiskUnpacker.Unpack(Archive(writer =>
            {
                writer.WriteFile("a", 0b110_100_100, new MemoryStream("first"u8.ToArray()));
                writer.WriteDirectory("b", 0b111_101_101);
                writer.WriteFile("b/inner", 0b110_100_100, new MemoryStream("inner"u8.ToArray()));
            }), root, "ramdisk 0");
            RamdiskUnpacker.Unpack(Archive(writer =>
            {
                writer.WriteEntry(new CpioEntry { Name = "a", Type = CpioEntryType.SymbolicLink, Permissions = 0b111_111_111, LinkTarget = "b" });
                writer.WriteFile("b", 0b110_000_000, new MemoryStream("now a file"u8.ToArray()));
            }), root, "ramdisk 1");

            Assert.Equal("b", new FileInfo(Path.Combine(root, "a")).LinkTarget);
            Assert.Equal("now a file", File.ReadAllText(Path.Combine(root, "b")));
            Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(root, "b")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void An_entry_below_a_symbolic_link_is_refused_instead_of_written_outside()
    {
        var root = Directory.CreateTempSubdirectory("cloister-unpack-").FullName;
        var outside = Directory.CreateTempSubdirectory("cloister-outside-").FullName;
        try
        {
            var archive = Archive(writer =>
            {
                writer.WriteEntry(new CpioEntry { Name = "escape", Type = CpioEntryType.SymbolicLink, Permissions = 0b111_111_111, LinkTarget = outside });
                writer.WriteFile("escape/planted", 0b110_100_100, new MemoryStream("x"u8.ToArray()));
            });

            var error = Assert.Throws<InvalidDataException>(() => RamdiskUnpacker.Unpack(archive, root, "ramdisk 1"));
            Assert.Contains("'escape/planted'", error.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    [Theory]
    [InlineData("cmd", "/dev/zero")]
    [InlineData("env", "/etc/hostname")]
    [InlineData("rootfs/cloister/enclave.json", "/etc/hostname")]
    [InlineData("rootfs/cloister", "/etc")]
    public void A_file_the_host_reads_is_never_reached_through_a_symbolic_link_out_of_the_image(string name, string target)
    {
        var error = Assert.Throws<InvalidDataException>(() => Unpack(
            writer => writer.WriteEntry(new CpioEntry { Name = name, Type = CpioEntryType.SymbolicLink, Permissions = 0b111_111_111, LinkTarget = target }),
            withCommand: name != "cmd"));

        Assert.Contains($"{name} is a symbolic link", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_file_larger_than_its_limit_is_refused()
    {
        var error = Assert.Throws<FileTooLargeException>(() => Unpack(writer =>
            writer.WriteFile("env", 0b110_100_100, new MemoryStream(new byte[FileSizeLimits.Text + 1]))));

        Assert.Contains("larger than the 4 MiB limit", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Unpacks an image whose customer ramdisk has a root file system, what <paramref name="write"/> adds and a <c>cmd</c>.</summary>
    private static void Unpack(Action<CpioWriter> write, bool withCommand = true)
    {
        var root = Directory.CreateTempSubdirectory("cloister-unpack-").FullName;
        try
        {
            using var customer = Archive(writer =>
            {
                writer.WriteDirectory("rootfs", 0b111_101_101);
                write(writer);
                if (withCommand)
                {
                    writer.WriteFile("cmd", 0b110_100_100, new MemoryStream("/bin/app\n"u8.ToArray()));
                }
            });
            var builder = new EifBuilder(new MemoryStream([1]), "console=ttyS0", new EifMetadata
            {
                ImageName = "hostile", ImageVersion = "1", BuildTime = "2024-01-01T00:00:00+00:00", BuildTool = "test",
                BuildToolVersion = "1", OperatingSystem = "Linux", KernelVersion = "1",
            });
            builder.AddRamdisk(Archive(writer => writer.WriteDirectory("dev", 0b111_101_101)));
            builder.AddRamdisk(customer);
            using var eif = new MemoryStream();
            builder.WriteTo(eif);
            eif.Position = 0;
            using var image = new EifReader(eif);
            UnpackedEnclaveImage.Unpack(image, root);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static MemoryStream Archive(Action<CpioWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new CpioWriter(buffer, leaveOpen: true))
        {
            write(writer);
            writer.Finish();
        }

        buffer.Position = 0;
        return buffer;
    }
}

using System.Text;
using Cloister.Build.Cpio;

namespace Cloister.Build.Tests.Cpio;

public sealed class CpioRoundTripTests
{
    [Theory]
    [InlineData("synthetic-bootstrap.cpio")]
    [InlineData("synthetic-customer.cpio")]
    public void Writing_the_decoded_entries_reproduces_the_fixture(string fixture)
    {
        var original = File.ReadAllBytes(TestVectors.Derived(fixture));
        using var output = new MemoryStream();
        using (var writer = new CpioWriter(output, leaveOpen: true))
        {
            foreach (var (entry, data) in ReadAll(original))
            {
                writer.WriteEntry(entry, new MemoryStream(data));
            }
        }

        Assert.Equal(original, output.ToArray());
    }

    [Fact]
    public void Fixture_entries_follow_linuxkit_conventions()
    {
        var entries = ReadAll(File.ReadAllBytes(TestVectors.Derived("synthetic-customer.cpio"))).Select(e => e.Entry).ToList();

        Assert.Equal(Enumerable.Range(721, entries.Count).Select(i => (uint)i), entries.Select(e => e.Inode));
        Assert.All(entries, e => Assert.Equal((3u, 1u), (e.DevMajor, e.DevMinor)));
        Assert.All(entries, e => Assert.Equal(e.Type == CpioEntryType.Directory ? 2u : 1u, e.LinkCount));
        var resolv = Assert.Single(entries, e => e.Name == "rootfs/etc/resolv.conf");
        Assert.Equal(CpioEntryType.SymbolicLink, resolv.Type);
        Assert.Equal("/run/resolvconf/resolv.conf", resolv.LinkTarget);
    }

    [Fact]
    public void Bootstrap_ramdisk_from_blobs_matches_the_fixture()
    {
        var fixture = ReadAll(File.ReadAllBytes(TestVectors.Derived("synthetic-bootstrap.cpio")));
        var blobs = Directory.CreateTempSubdirectory("cloister-blobs-");
        try
        {
            File.WriteAllBytes(Path.Combine(blobs.FullName, "init"), fixture.Single(e => e.Entry.Name == "init").Data);
            File.WriteAllBytes(Path.Combine(blobs.FullName, "nsm.ko"), fixture.Single(e => e.Entry.Name == "nsm.ko").Data);
            using var output = new MemoryStream();

            BootstrapRamdisk.WriteFromBlobs(output, blobs.FullName);

            Assert.Equal(File.ReadAllBytes(TestVectors.Derived("synthetic-bootstrap.cpio")), output.ToArray());
            Assert.StartsWith(
                "070701000002d1000041ed00000000000000000000000258f63f08000000000000000300000001000000000000000000000004" + "00000000dev\0\0\0",
                Encoding.ASCII.GetString(output.ToArray()),
                StringComparison.Ordinal);
        }
        finally
        {
            blobs.Delete(recursive: true);
        }
    }

    [Fact]
    public void Archive_is_padded_to_512_and_names_and_data_to_4()
    {
        using var output = new MemoryStream();
        using (var writer = new CpioWriter(output, leaveOpen: true))
        {
            writer.WriteFile("a", 0x1A4, new MemoryStream([1, 2, 3, 4, 5]));
            writer.WriteEntry(new CpioEntry { Name = "ab/c", Type = CpioEntryType.SymbolicLink, Permissions = 0x1FF, LinkTarget = "../x" });
        }

        var bytes = output.ToArray();
        Assert.Equal(0, bytes.Length % 512);
        Assert.Equal("070701", Encoding.ASCII.GetString(bytes, 112 + 8, 6));
        var entries = ReadAll(bytes);
        Assert.Equal([1, 2, 3, 4, 5], entries[0].Data);
        Assert.Equal("../x", entries[1].Entry.LinkTarget);
        Assert.Equal(0xA1FF, entries[1].Entry.Mode);
    }

    internal static List<(CpioEntry Entry, byte[] Data)> ReadAll(byte[] archive)
    {
        using var reader = new CpioReader(new MemoryStream(archive));
        var entries = new List<(CpioEntry, byte[])>();
        while (reader.GetNextEntry() is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            entries.Add((entry, data.ToArray()));
        }

        return entries;
    }
}

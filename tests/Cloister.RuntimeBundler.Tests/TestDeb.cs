using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.RuntimeBundler.Tests;

/// <summary>
/// Writes <c>.deb</c> files byte for byte as <c>deb(5)</c> lays them out: an <c>ar</c> archive (dpkg-deb's header
/// fields: name padded with spaces, mtime, uid, gid, octal mode, size, <c>`\n</c>, odd members padded with <c>\n</c>)
/// of <c>debian-binary</c>, <c>control.tar.gz</c> and <c>data.tar.gz</c>, the tarballs in GNU format with <c>./</c> names.
/// </summary>
internal static class TestDeb
{
    public static readonly DateTimeOffset Time = new(2023, 1, 14, 17, 24, 0, TimeSpan.Zero);

    /// <summary>A whole <c>.deb</c> whose data tarball holds the entries <paramref name="data"/> writes.</summary>
    public static byte[] Build(Action<TarWriter> data) =>
        Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.gz", TarGz(Control)), ("data.tar.gz", TarGz(data)));

    public static byte[] Ar(params (string Name, byte[] Data)[] members)
    {
        using var output = new MemoryStream();
        output.Write("!<arch>\n"u8);
        foreach (var (name, data) in members)
        {
            var header = $"{name,-16}{"1673717040",-12}{"0",-6}{"0",-6}{"100644",-8}{data.Length,-10}`\n";
            output.Write(Encoding.ASCII.GetBytes(header));
            output.Write(data);
            if (data.Length % 2 == 1)
            {
                output.WriteByte((byte)'\n');
            }
        }

        return output.ToArray();
    }

    public static byte[] TarGz(Action<TarWriter> entries)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Tar(entries));
        }

        return output.ToArray();
    }

    public static byte[] Tar(Action<TarWriter> entries)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true))
        {
            entries(writer);
        }

        return output.ToArray();
    }

    public static void Directory(this TarWriter writer, string name, UnixFileMode mode = (UnixFileMode)0b111_101_101) =>
        writer.WriteEntry(new GnuTarEntry(TarEntryType.Directory, name) { Mode = mode, ModificationTime = Time });

    public static void File(this TarWriter writer, string name, string contents, UnixFileMode mode = (UnixFileMode)0b110_100_100) =>
        writer.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = mode,
            ModificationTime = Time,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(contents)),
        });

    public static void Symlink(this TarWriter writer, string name, string target) =>
        writer.WriteEntry(new GnuTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = Time });

    private static void Control(TarWriter writer)
    {
        writer.Directory("./");
        writer.File("./control", "Package: test\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Cloister <cloister@example.invalid>\nDescription: test\n");
    }
}

using System.Formats.Tar;
using System.Text;

namespace Cloister.Fuzz.Targets;

/// <summary>Small image layers written with .NET's <see cref="TarWriter"/>, as image builders write them.</summary>
internal static class LayerTars
{
    private static readonly DateTimeOffset s_time = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The lower layer every fuzzed layer is applied on: directories, files, a symlink and a hard link.</summary>
    public static byte[] Base(TarEntryFormat format = TarEntryFormat.Pax) => Write(format, writer =>
    {
        Directory(writer, format, "etc/");
        File(writer, format, "etc/hosts", "127.0.0.1 localhost\n");
        Directory(writer, format, "usr/");
        Directory(writer, format, "usr/bin/");
        File(writer, format, "usr/bin/app", "#!/bin/sh\necho hello\n");
        Link(writer, format, TarEntryType.SymbolicLink, "usr/bin/sh", "app");
        Link(writer, format, TarEntryType.HardLink, "usr/bin/app2", "usr/bin/app");
        Directory(writer, format, "var/");
        Directory(writer, format, "var/log/");
        File(writer, format, "var/log/boot.log", "ok\n");
    });

    /// <summary>An upper layer: whiteouts and an opaque directory over <see cref="Base"/>, new entries of every type.</summary>
    public static byte[] Upper(TarEntryFormat format) => Write(format, writer =>
    {
        File(writer, format, "etc/.wh.hosts", string.Empty);
        File(writer, format, "var/log/.wh..wh..opq", string.Empty);
        File(writer, format, "var/log/new.log", "new\n");
        Link(writer, format, TarEntryType.HardLink, "usr/bin/app3", "usr/bin/app");
        Link(writer, format, TarEntryType.SymbolicLink, "usr/bin/env", "/usr/bin/app");
        File(writer, format, $"opt/{new string('n', 120)}/file", "long name\n");
        if (format is not TarEntryFormat.V7)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, "run/fifo") { ModificationTime = s_time });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, "dev/null") { DeviceMajor = 1, DeviceMinor = 3, ModificationTime = s_time });
        }
    });

    private static byte[] Write(TarEntryFormat format, Action<TarWriter> write)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, format, leaveOpen: true))
        {
            write(writer);
        }

        return output.ToArray();
    }

    private static TarEntry Entry(TarEntryFormat format, TarEntryType type, string name) => format switch
    {
        TarEntryFormat.V7 => new V7TarEntry(type == TarEntryType.RegularFile ? TarEntryType.V7RegularFile : type, name),
        TarEntryFormat.Ustar => new UstarTarEntry(type, name),
        TarEntryFormat.Gnu => new GnuTarEntry(type, name),
        _ => new PaxTarEntry(type, name),
    };

    private static void Directory(TarWriter writer, TarEntryFormat format, string name)
    {
        var entry = Entry(format, TarEntryType.Directory, name);
        entry.Mode = (UnixFileMode)0b111_101_101;
        entry.ModificationTime = s_time;
        writer.WriteEntry(entry);
    }

    private static void File(TarWriter writer, TarEntryFormat format, string name, string content)
    {
        var entry = Entry(format, TarEntryType.RegularFile, name);
        entry.Mode = (UnixFileMode)0b110_100_100;
        entry.ModificationTime = s_time;
        entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        writer.WriteEntry(entry);
    }

    private static void Link(TarWriter writer, TarEntryFormat format, TarEntryType type, string name, string target)
    {
        var entry = Entry(format, type, name);
        entry.LinkName = target;
        entry.ModificationTime = s_time;
        writer.WriteEntry(entry);
    }
}

using System.Formats.Tar;
using System.Text;

namespace Cloister.Build.Tests.Layers;

/// <summary>Writes layer tars for tests with System.Formats.Tar (PAX unless told otherwise).</summary>
internal sealed class LayerTar
{
    public const long Time = 1_700_000_000;

    private readonly List<TarEntry> _entries = [];
    private readonly TarEntryFormat _format;

    public LayerTar(TarEntryFormat format = TarEntryFormat.Pax)
    {
        _format = format;
    }

    public LayerTar Directory(string name, int mode = 0b111_101_101, int uid = 0, int gid = 0, long mtime = Time) =>
        Add(TarEntryType.Directory, name, mode, uid, gid, mtime);

    public LayerTar File(string name, string content = "", int mode = 0b110_100_100, int uid = 0, int gid = 0, long mtime = Time) =>
        File(name, Encoding.UTF8.GetBytes(content), mode, uid, gid, mtime);

    public LayerTar File(string name, byte[] content, int mode = 0b110_100_100, int uid = 0, int gid = 0, long mtime = Time) =>
        Add(TarEntryType.RegularFile, name, mode, uid, gid, mtime, entry => entry.DataStream = new MemoryStream(content));

    public LayerTar Symlink(string name, string target, int mode = 0b111_111_111, int uid = 0, int gid = 0, long mtime = Time) =>
        Add(TarEntryType.SymbolicLink, name, mode, uid, gid, mtime, entry => entry.LinkName = target);

    public LayerTar HardLink(string name, string target) =>
        Add(TarEntryType.HardLink, name, 0b110_100_100, 0, 0, Time, entry => entry.LinkName = target);

    public LayerTar Device(string name, TarEntryType type, int major, int minor, int mode = 0b110_110_110) =>
        Add(type, name, mode, 0, 0, Time, entry =>
        {
            ((PosixTarEntry)entry).DeviceMajor = major;
            ((PosixTarEntry)entry).DeviceMinor = minor;
        });

    public LayerTar Fifo(string name, int mode = 0b110_100_100) => Add(TarEntryType.Fifo, name, mode, 0, 0, Time);

    public LayerTar Whiteout(string name) => File(name);

    public byte[] ToArray()
    {
        using var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, _format, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }

        return stream.ToArray();
    }

    public MemoryStream ToStream() => new(ToArray());

    private LayerTar Add(TarEntryType type, string name, int mode, int uid, int gid, long mtime, Action<TarEntry>? configure = null)
    {
        TarEntry entry = _format switch
        {
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            TarEntryFormat.Ustar => new UstarTarEntry(type, name),
            _ => new PaxTarEntry(type, name),
        };
        entry.Mode = (UnixFileMode)mode;
        entry.Uid = uid;
        entry.Gid = gid;
        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(mtime);
        configure?.Invoke(entry);
        _entries.Add(entry);
        return this;
    }
}

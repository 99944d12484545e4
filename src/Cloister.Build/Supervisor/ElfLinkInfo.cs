using System.Buffers.Binary;
using System.Text;

namespace Cloister.Build.Supervisor;

/// <summary>
/// What the dynamic loader reads from an ELF64 little-endian file before it can run it: the interpreter
/// (<c>PT_INTERP</c>), the libraries it needs (<c>DT_NEEDED</c>) and its own name (<c>DT_SONAME</c>).
/// </summary>
public sealed class ElfLinkInfo
{
    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const int DynamicEntrySize = 16;
    private const uint PtLoad = 1;
    private const uint PtDynamic = 2;
    private const uint PtInterp = 3;
    private const long DtNull = 0;
    private const long DtNeeded = 1;
    private const long DtStrTab = 5;
    private const long DtStrSz = 10;
    private const long DtSoName = 14;

    private ElfLinkInfo(ushort machine, string? interpreter, string? soName, IReadOnlyList<string> needed)
    {
        Machine = machine;
        Interpreter = interpreter;
        SoName = soName;
        Needed = needed;
    }

    /// <summary>The <c>e_machine</c> field (62 for x86-64); a library is usable only by a file of the same machine.</summary>
    public ushort Machine { get; }

    /// <summary>The program interpreter (e.g. <c>/lib64/ld-linux-x86-64.so.2</c>), or <see langword="null"/> for a library or a static executable.</summary>
    public string? Interpreter { get; }

    /// <summary>The library's <c>DT_SONAME</c>, or <see langword="null"/> when it has none (executables).</summary>
    public string? SoName { get; }

    /// <summary>The <c>DT_NEEDED</c> entries in file order; empty for a static file.</summary>
    public IReadOnlyList<string> Needed { get; }

    /// <summary>Reads the link information of an ELF file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The link information.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a well-formed ELF64 little-endian file; the message names the path and the offending field.</exception>
    public static ElfLinkInfo Read(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return Read(stream);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads the link information of an ELF file from a seekable stream positioned anywhere.</summary>
    /// <param name="elf">The file's bytes; only the headers, the dynamic segment and its string table are read.</param>
    /// <returns>The link information.</returns>
    /// <exception cref="ArgumentException"><paramref name="elf"/> cannot seek.</exception>
    /// <exception cref="FormatException">The file is not a well-formed ELF64 little-endian file; the message names the offending field or offset.</exception>
    public static ElfLinkInfo Read(Stream elf)
    {
        ArgumentNullException.ThrowIfNull(elf);
        if (!elf.CanSeek)
        {
            throw new ArgumentException("ELF parsing needs a seekable stream", nameof(elf));
        }

        var header = ReadAt(elf, 0, HeaderSize, "ELF header");
        if (!header.AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
        {
            throw new FormatException("offset 0: not an ELF file (magic is not 7F 45 4C 46)");
        }

        if (header[4] != 2 || header[5] != 1)
        {
            throw new FormatException($"offset 4: EI_CLASS {header[4]} / EI_DATA {header[5]}: only ELF64 little-endian (2 / 1) is supported");
        }

        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x12));
        var programHeaderOffset = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(0x20));
        var programHeaderEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x36));
        var programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x38));
        if (programHeaderCount > 0 && programHeaderEntrySize != ProgramHeaderSize)
        {
            throw new FormatException($"offset 0x36: e_phentsize is {programHeaderEntrySize}, ELF64 program headers are {ProgramHeaderSize} bytes");
        }

        var programHeaders = ReadAt(elf, programHeaderOffset, programHeaderCount * ProgramHeaderSize, "program headers (e_phoff)");
        var segments = new List<Segment>(programHeaderCount);
        for (var i = 0; i < programHeaderCount; i++)
        {
            segments.Add(Segment.Parse(programHeaders.AsSpan(i * ProgramHeaderSize, ProgramHeaderSize)));
        }

        var interpreter = segments.Find(s => s.Type == PtInterp) is { } interp
            ? Encoding.UTF8.GetString(ReadAt(elf, interp.Offset, interp.FileSize, "PT_INTERP").AsSpan().TrimEnd((byte)0))
            : null;
        var (soName, needed) = segments.Find(s => s.Type == PtDynamic) is { } dynamic
            ? ReadDynamic(elf, dynamic, segments)
            : (null, []);
        return new ElfLinkInfo(machine, interpreter, soName, needed);
    }

    private static (string? SoName, IReadOnlyList<string> Needed) ReadDynamic(Stream elf, Segment dynamic, List<Segment> segments)
    {
        var table = ReadAt(elf, dynamic.Offset, dynamic.FileSize, "PT_DYNAMIC");
        long? stringTableAddress = null;
        long? stringTableSize = null;
        long? soNameOffset = null;
        var neededOffsets = new List<long>();
        for (var at = 0; at + DynamicEntrySize <= table.Length; at += DynamicEntrySize)
        {
            var tag = BinaryPrimitives.ReadInt64LittleEndian(table.AsSpan(at));
            if (tag == DtNull)
            {
                break;
            }

            var value = BinaryPrimitives.ReadInt64LittleEndian(table.AsSpan(at + 8));
            switch (tag)
            {
                case DtNeeded:
                    neededOffsets.Add(value);
                    break;
                case DtStrTab:
                    stringTableAddress = value;
                    break;
                case DtStrSz:
                    stringTableSize = value;
                    break;
                case DtSoName:
                    soNameOffset = value;
                    break;
            }
        }

        if (neededOffsets.Count == 0 && soNameOffset is null)
        {
            return (null, []);
        }

        if (stringTableAddress is not { } address || stringTableSize is not { } size)
        {
            throw new FormatException($"PT_DYNAMIC at offset {dynamic.Offset}: DT_NEEDED or DT_SONAME without DT_STRTAB and DT_STRSZ");
        }

        var load = segments.Find(s => s.Type == PtLoad && address >= s.VirtualAddress && address + size <= s.VirtualAddress + s.FileSize)
            ?? throw new FormatException($"DT_STRTAB 0x{address:x} (+{size}) lies in no PT_LOAD segment's file image");
        var strings = ReadAt(elf, address - load.VirtualAddress + load.Offset, size, "DT_STRTAB");
        return (
            soNameOffset is { } soName ? ReadString(strings, soName, "DT_SONAME") : null,
            neededOffsets.Select(offset => ReadString(strings, offset, "DT_NEEDED")).ToArray());
    }

    private static string ReadString(byte[] strings, long offset, string field)
    {
        if (offset < 0 || offset >= strings.Length)
        {
            throw new FormatException($"{field}: string offset {offset} is outside the {strings.Length}-byte DT_STRTAB");
        }

        var tail = strings.AsSpan((int)offset);
        var end = tail.IndexOf((byte)0);
        return end >= 0
            ? Encoding.UTF8.GetString(tail[..end])
            : throw new FormatException($"{field}: the string at DT_STRTAB offset {offset} is not NUL-terminated");
    }

    private static byte[] ReadAt(Stream elf, long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || length > int.MaxValue || offset + length > elf.Length)
        {
            throw new FormatException($"{what}: {length} bytes at offset {offset} run past the end of the {elf.Length}-byte file");
        }

        var buffer = new byte[length];
        elf.Position = offset;
        elf.ReadExactly(buffer);
        return buffer;
    }

    private sealed record Segment(uint Type, long Offset, long VirtualAddress, long FileSize)
    {
        public static Segment Parse(ReadOnlySpan<byte> header) => new(
            BinaryPrimitives.ReadUInt32LittleEndian(header),
            BinaryPrimitives.ReadInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[32..]));
    }
}

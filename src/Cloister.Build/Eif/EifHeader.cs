using System.Buffers.Binary;

namespace Cloister.Build.Eif;

/// <summary>
/// The 548-byte big-endian header at the start of every EIF: magic, version, flags, the unused default memory and
/// CPU count, the section table (offset of each section header and size of its data) and the CRC-32.
/// </summary>
public sealed class EifHeader
{
    /// <summary>The encoded size of the header in bytes.</summary>
    public const int Size = 548;

    /// <summary>The most sections a header can describe.</summary>
    public const int MaxSections = 32;

    /// <summary>The version nitro-cli writes (v2 added the CRC, v3 the signature section, v4 the metadata section).</summary>
    public const ushort CurrentVersion = 4;

    /// <summary>The oldest version this reader accepts: the first with a CRC.</summary>
    public const ushort MinimumVersion = 2;

    /// <summary>The offset of <c>num_sections</c>.</summary>
    internal const int SectionCountOffset = 0x1A;

    /// <summary>The offset of the <c>eif_crc32</c> field, which is also the length of the header prefix the CRC covers.</summary>
    internal const int CrcOffset = 0x220;

    /// <summary>The offset of <c>section_offsets[0]</c>.</summary>
    internal const int SectionOffsetsOffset = 0x1C;

    private const int SectionSizesOffset = 0x11C;

    // nitro-cli's EifBuilder writes these two unused values; keeping them makes our files byte-identical.
    private const ulong NitroDefaultMemory = 1024UL * 1024 * 1024;
    private const ulong NitroDefaultCpus = 2;

    private static ReadOnlySpan<byte> Magic => ".eif"u8;

    private EifHeader(ushort version, ushort flags, ulong defaultMemory, ulong defaultCpus, long[] offsets, long[] sizes, uint crc32)
    {
        Version = version;
        Flags = flags;
        DefaultMemory = defaultMemory;
        DefaultCpus = defaultCpus;
        SectionOffsets = offsets;
        SectionSizes = sizes;
        Crc32 = crc32;
    }

    /// <summary>The format version.</summary>
    public ushort Version { get; }

    /// <summary>The raw flags; bit 0 is the architecture.</summary>
    public ushort Flags { get; }

    /// <summary>The architecture named by bit 0 of <see cref="Flags"/>.</summary>
    public EifArchitecture Architecture => (Flags & 1) != 0 ? EifArchitecture.Arm64 : EifArchitecture.X64;

    /// <summary>The default enclave memory in bytes (unused by the Nitro stack).</summary>
    public ulong DefaultMemory { get; }

    /// <summary>The default vCPU count (unused by the Nitro stack).</summary>
    public ulong DefaultCpus { get; }

    /// <summary>The file offset of each section's 12-byte header, in table order; one entry per section.</summary>
    public IReadOnlyList<long> SectionOffsets { get; }

    /// <summary>The data size of each section (without its 12-byte header), in table order; one entry per section.</summary>
    public IReadOnlyList<long> SectionSizes { get; }

    /// <summary>The CRC-32/ISO-HDLC stored in the header.</summary>
    public uint Crc32 { get; }

    /// <summary>Decodes and validates a header.</summary>
    /// <param name="header">At least the first <see cref="Size"/> bytes of the file.</param>
    /// <returns>The decoded header.</returns>
    /// <exception cref="EifFormatException">The bytes are too short, the magic or version is wrong, or more than 32 sections are declared.</exception>
    public static EifHeader Parse(ReadOnlySpan<byte> header)
    {
        var magicSeen = header[..Math.Min(header.Length, Magic.Length)];
        if (!Magic.StartsWith(magicSeen))
        {
            throw new EifFormatException(EifError.BadMagic, 0, $"magic is {Convert.ToHexStringLower(magicSeen)}, expected 2e656966 (\".eif\")");
        }

        if (header.Length < Size)
        {
            throw new EifFormatException(EifError.Truncated, header.Length, $"the file ends inside the {Size}-byte header");
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        if (version is < MinimumVersion or > CurrentVersion)
        {
            throw new EifFormatException(EifError.UnsupportedVersion, 4, $"version is {version}, supported are {MinimumVersion} to {CurrentVersion}");
        }

        var count = BinaryPrimitives.ReadUInt16BigEndian(header[SectionCountOffset..]);
        if (count > MaxSections)
        {
            throw new EifFormatException(EifError.TooManySections, SectionCountOffset, $"num_sections is {count}, at most {MaxSections} are allowed");
        }

        var offsets = new long[count];
        var sizes = new long[count];
        for (var i = 0; i < count; i++)
        {
            offsets[i] = ReadLength(header, SectionOffsetsOffset + (8 * i), "section_offsets", i);
            sizes[i] = ReadLength(header, SectionSizesOffset + (8 * i), "section_sizes", i);
        }

        return new EifHeader(
            version,
            BinaryPrimitives.ReadUInt16BigEndian(header[6..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[16..]),
            offsets,
            sizes,
            BinaryPrimitives.ReadUInt32BigEndian(header[CrcOffset..]));
    }

    /// <summary>Creates the header nitro-cli writes for a section table; the CRC is filled in later.</summary>
    internal static EifHeader Create(EifArchitecture architecture, IReadOnlyList<EifSection> sections, uint crc32)
    {
        return new EifHeader(
            CurrentVersion,
            architecture == EifArchitecture.Arm64 ? (ushort)1 : (ushort)0,
            NitroDefaultMemory,
            NitroDefaultCpus,
            sections.Select(s => s.HeaderOffset).ToArray(),
            sections.Select(s => s.Size).ToArray(),
            crc32);
    }

    /// <summary>Encodes the header into exactly <see cref="Size"/> bytes.</summary>
    /// <param name="destination">At least <see cref="Size"/> bytes; the first <see cref="Size"/> are overwritten.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public void WriteTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Size, nameof(destination));
        destination = destination[..Size];
        destination.Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Version);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], Flags);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], DefaultMemory);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], DefaultCpus);
        BinaryPrimitives.WriteUInt16BigEndian(destination[SectionCountOffset..], (ushort)SectionOffsets.Count);
        for (var i = 0; i < SectionOffsets.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[(SectionOffsetsOffset + (8 * i))..], (ulong)SectionOffsets[i]);
            BinaryPrimitives.WriteUInt64BigEndian(destination[(SectionSizesOffset + (8 * i))..], (ulong)SectionSizes[i]);
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination[CrcOffset..], Crc32);
    }

    private static long ReadLength(ReadOnlySpan<byte> header, int offset, string field, int index)
    {
        var value = BinaryPrimitives.ReadUInt64BigEndian(header[offset..]);
        return value <= long.MaxValue
            ? (long)value
            : throw new EifFormatException(EifError.Truncated, offset, $"{field}[{index}] is {value}, beyond any file");
    }
}

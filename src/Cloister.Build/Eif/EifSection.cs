using System.Buffers.Binary;

namespace Cloister.Build.Eif;

/// <summary>Where one section lies in an EIF: its type, the offset of its 12-byte header and the size of its data.</summary>
/// <param name="Type">The section type.</param>
/// <param name="HeaderOffset">The file offset of the section header (what the EIF header's <c>section_offsets</c> stores).</param>
/// <param name="Size">The size of the section data, excluding the 12-byte section header.</param>
public readonly record struct EifSection(EifSectionType Type, long HeaderOffset, long Size)
{
    /// <summary>The encoded size of a section header.</summary>
    public const int HeaderSize = 12;

    /// <summary>The file offset of the first data byte.</summary>
    public long DataOffset => HeaderOffset + HeaderSize;

    /// <summary>The file offset just past the data, where the next section header starts.</summary>
    public long End => DataOffset + Size;

    /// <summary>Encodes the 12-byte section header: type, zero flags, size.</summary>
    internal void WriteHeader(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)Type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[4..], (ulong)Size);
    }
}

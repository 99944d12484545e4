using System.Buffers.Binary;
using System.IO.Hashing;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

/// <summary>Byte surgery on EIF files for the negative tests.</summary>
internal static class EifCorruption
{
    public static byte[] UnsignedFixture() => File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));

    public static long SectionOffset(byte[] image, int index) => (long)BinaryPrimitives.ReadUInt64BigEndian(image.AsSpan(0x1C + (8 * index)));

    public static byte[] FixCrc(byte[] image)
    {
        var crc = new Crc32();
        crc.Append(image.AsSpan(0, 544));
        crc.Append(image.AsSpan(548));
        BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(544), crc.GetCurrentHashAsUInt32());
        return image;
    }

    /// <summary>Swaps the data of the last section, keeping the section header, the header's size table and the CRC consistent.</summary>
    public static byte[] ReplaceLastSection(byte[] image, EifSection last, byte[] data)
    {
        var patched = new byte[last.DataOffset + data.Length];
        image.AsSpan(0, (int)last.DataOffset).CopyTo(patched);
        data.CopyTo(patched, last.DataOffset);
        BinaryPrimitives.WriteUInt64BigEndian(patched.AsSpan((int)last.HeaderOffset + 4), (ulong)data.Length);
        var index = BinaryPrimitives.ReadUInt16BigEndian(patched.AsSpan(0x1A)) - 1;
        BinaryPrimitives.WriteUInt64BigEndian(patched.AsSpan(0x11C + (8 * index)), (ulong)data.Length);
        return FixCrc(patched);
    }
}

using System.Text;

namespace Cloister.Build.Tests.Layers;

/// <summary>Hand-made ustar headers for what TarWriter refuses to write (absurd sizes, odd type flags).</summary>
internal static class RawTarHeader
{
    /// <summary>One 512-byte header with <paramref name="size"/> in base-256 when it does not fit 11 octal digits.</summary>
    public static byte[] Create(string name, char typeFlag, long size)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
        Octal(header, 100, 8, 0b110_100_100);
        Octal(header, 108, 8, 0);
        Octal(header, 116, 8, 0);
        if (size < (1L << 33))
        {
            Octal(header, 124, 12, size);
        }
        else
        {
            header[124] = 0x80;
            for (var i = 0; i < 8; i++)
            {
                header[135 - i] = (byte)(size >> (8 * i));
            }
        }

        Octal(header, 136, 12, 1_700_000_000);
        header[156] = (byte)typeFlag;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        Seal(header, 0);
        return header;
    }

    /// <summary>Rewrites the checksum of the header at <paramref name="offset"/> (after a test edited it), as a signed byte sum when told.</summary>
    public static void Seal(byte[] archive, int offset, bool signed = false)
    {
        var header = archive.AsSpan(offset, 512);
        header.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in header)
        {
            sum += signed ? (sbyte)b : b;
        }

        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header[148..]);
    }

    /// <summary>A whole archive: <paramref name="headers"/> each followed by <paramref name="dataBlocks"/> zero blocks, then the end marker.</summary>
    public static byte[] Archive(int dataBlocks, params byte[][] headers)
    {
        var archive = new MemoryStream();
        foreach (var header in headers)
        {
            archive.Write(header);
            archive.Write(new byte[512 * dataBlocks]);
        }

        archive.Write(new byte[1024]);
        return archive.ToArray();
    }

    private static void Octal(byte[] header, int offset, int length, long value) =>
        Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(length - 1, '0') + "\0").CopyTo(header, offset);
}

using System.Text;

namespace Cloister.Build.RuntimeBundles;

/// <summary>
/// The one tar form a runtime bundle may take: ustar headers with every field fixed but the name, mode, size, type and
/// checksum (owner 0:0, no user or group names, modification time 0, no link, no prefix), so a header is accepted only
/// when it is byte for byte the header this writes for the same entry, and a bundle has exactly one encoding.
/// </summary>
internal static class RuntimeBundleTar
{
    public const int BlockSize = 512;

    /// <summary>The longest name: ustar's 100-byte field, leaving its last byte a NUL.</summary>
    public const int MaxNameLength = 99;

    private static readonly (int Offset, int Length, string Name)[] s_fields =
    [
        (0, 100, "name"), (100, 8, "mode"), (108, 8, "uid"), (116, 8, "gid"), (124, 12, "size"), (136, 12, "mtime"),
        (148, 8, "chksum"), (156, 1, "typeflag"), (157, 100, "linkname"), (257, 6, "magic"), (263, 2, "version"),
        (265, 32, "uname"), (297, 32, "gname"), (329, 8, "devmajor"), (337, 8, "devminor"), (345, 155, "prefix"), (500, 12, "padding"),
    ];

    /// <summary>Writes the header of one entry into a 512-byte block.</summary>
    public static void WriteHeader(Span<byte> block, string name, bool directory, UnixFileMode mode, long size)
    {
        block[..BlockSize].Clear();
        Encoding.ASCII.GetBytes(name, block[..100]);
        Octal(block.Slice(100, 8), (long)mode);
        Octal(block.Slice(108, 8), 0);
        Octal(block.Slice(116, 8), 0);
        Octal(block.Slice(124, 12), size);
        Octal(block.Slice(136, 12), 0);
        block[156] = directory ? (byte)'5' : (byte)'0';
        "ustar\0"u8.CopyTo(block[257..]);
        "00"u8.CopyTo(block[263..]);
        Octal(block.Slice(329, 8), 0);
        Octal(block.Slice(337, 8), 0);

        // The checksum is summed with its own field as eight spaces, then written as six digits, a NUL and a space.
        block.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in block[..BlockSize])
        {
            sum += b;
        }

        Octal(block.Slice(148, 7), sum);
    }

    /// <summary>
    /// The name of the first header field where <paramref name="actual"/> differs from <paramref name="canonical"/>; the
    /// checksum only when nothing else differs, since any other difference changes it too.
    /// </summary>
    public static string FirstDifferingField(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> canonical)
    {
        foreach (var (offset, length, name) in s_fields)
        {
            if (name != "chksum" && !actual.Slice(offset, length).SequenceEqual(canonical.Slice(offset, length)))
            {
                return name;
            }
        }

        return "chksum";
    }

    /// <summary>Parses an octal field of digits ended by a NUL (or a NUL and a space), as <see cref="WriteHeader"/> writes them.</summary>
    public static long? ParseOctal(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        if (end <= 0)
        {
            return null;
        }

        long value = 0;
        foreach (var digit in field[..end])
        {
            if (digit is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                return null;
            }

            value = (value << 3) | (long)(digit - '0');
        }

        return value;
    }

    // Zero-padded to the field's width less one, then a NUL, as GNU tar and .NET's TarWriter write ustar numbers.
    private static void Octal(Span<byte> field, long value)
    {
        var digits = field.Length - 1;
        for (var i = digits - 1; i >= 0; i--)
        {
            field[i] = (byte)('0' + (value & 7));
            value >>= 3;
        }

        field[digits] = 0;
    }
}

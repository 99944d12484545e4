using System.IO.Compression;
using System.Security.Cryptography;
using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images;

/// <summary>Strict gzip decoding: what Go's compress/gzip (Docker's reader) accepts, and nothing it refuses.</summary>
public sealed class GzipReadStreamTests
{
    private static readonly byte[] s_content = Content();
    private static readonly byte[] s_member = Gzip(s_content);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task One_or_more_members_decode_to_their_concatenation_sync_and_async(int members)
    {
        var blob = Repeat(s_member, members);
        var expected = Repeat(s_content, members);

        Assert.Equal(expected, ReadAll(blob, 700));
        Assert.Equal(expected, await ReadAllAsync(blob));
    }

    [Fact]
    public void Members_with_no_content_and_with_file_name_extra_and_header_crc_fields_decode()
    {
        // FLG = FHCRC | FEXTRA | FNAME | FCOMMENT, as gzip(1) -N and pigz can write.
        var header = new List<byte> { 0x1f, 0x8b, 8, 0b11110, 0, 0, 0, 0, 0, 3, 4, 0, (byte)'a', (byte)'b', (byte)'c', (byte)'d' };
        header.AddRange("name\0comment\0"u8.ToArray());
        var crc = System.IO.Hashing.Crc32.HashToUInt32(header.ToArray());
        header.Add((byte)crc);
        header.Add((byte)(crc >> 8));
        var fancy = header.Concat(s_member.AsSpan(10).ToArray()).ToArray();

        Assert.Equal([.. s_content, .. s_content], ReadAll([.. Gzip([]), .. fancy, .. Gzip([]), .. s_member], 4096));
    }

    [Theory]
    [InlineData(new byte[] { 0 }, null)]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, null)]
    [InlineData(new byte[] { 0x1f, 0x00 }, null)]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x63, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "unknown compression method")]
    public void Data_after_the_last_member_that_is_no_member_is_refused(byte[] trailer, string? zlib)
    {
        var error = Assert.Throws<InvalidDataException>(() => ReadAll([.. s_member, .. trailer], 4096));

        Assert.Equal(
            zlib is null
                ? $"the data after the last gzip member, from byte {s_member.Length}, is not a gzip member"
                : $"gzip member 2, from byte {s_member.Length}: {zlib}",
            error.Message);
    }

    [Fact]
    public void Zero_padding_after_the_last_member_is_refused_even_at_a_buffer_boundary()
    {
        // The member fills the first read exactly; the padding arrives with the next one.
        var blob = s_member.Concat(new byte[512]).ToArray();

        var error = Assert.Throws<InvalidDataException>(() => ReadAll(blob, 4096, chunk: s_member.Length));

        Assert.Equal($"the data after the last gzip member, from byte {s_member.Length}, is not a gzip member", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(100)]
    public void A_member_cut_short_is_refused_even_when_its_content_is_complete(int cut)
    {
        var error = Assert.Throws<InvalidDataException>(() => ReadAll(s_member[..^cut], 4096));

        Assert.Equal("the gzip stream ends inside member 1, which starts at byte 0", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(10)]
    public void A_second_member_cut_short_is_refused(int length)
    {
        var error = Assert.Throws<InvalidDataException>(() => ReadAll([.. s_member, .. s_member[..length]], 4096));

        Assert.Equal($"the gzip stream ends inside member 2, which starts at byte {s_member.Length}", error.Message);
    }

    [Theory]
    [InlineData(8, "incorrect data check")]
    [InlineData(4, "incorrect length check")]
    public void A_wrong_crc_or_length_in_the_trailer_is_refused(int fromEnd, string zlib)
    {
        var blob = s_member.ToArray();
        blob[^fromEnd] ^= 0x01;

        var error = Assert.Throws<InvalidDataException>(() => ReadAll(blob, 4096));

        Assert.Equal($"gzip member 1, from byte 0: {zlib}", error.Message);
    }

    [Fact]
    public void An_empty_stream_and_a_zlib_stream_are_not_gzip()
    {
        Assert.Equal("the gzip stream is empty", Assert.Throws<InvalidDataException>(() => ReadAll([], 10)).Message);

        var zlib = new MemoryStream();
        using (var writer = new ZLibStream(zlib, CompressionLevel.Fastest, leaveOpen: true))
        {
            writer.Write(s_content);
        }

        Assert.Contains("incorrect header check", Assert.Throws<InvalidDataException>(() => ReadAll(zlib.ToArray(), 10)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_after_dispose_is_refused_not_a_use_of_freed_memory()
    {
        // Part of the member is still buffered, so the next read goes straight to the inflater.
        var stream = new GzipReadStream(new MemoryStream(s_member));
        stream.ReadExactly(new byte[10]);
        stream.Dispose();

        Assert.Throws<ObjectDisposedException>(() => stream.Read(new byte[10]));
    }

    private static byte[] Content()
    {
        // Compressible and incompressible parts, so members span several input buffers.
        var content = new byte[300_000];
        RandomNumberGenerator.Fill(content.AsSpan(0, 150_000));
        return content;
    }

    private static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    private static byte[] Repeat(byte[] bytes, int times) => Enumerable.Repeat(bytes, times).SelectMany(b => b).ToArray();

    private static byte[] ReadAll(byte[] blob, int bufferSize, int chunk = int.MaxValue)
    {
        using var stream = new GzipReadStream(new ChunkedStream(blob, chunk));
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    private static async Task<byte[]> ReadAllAsync(byte[] blob)
    {
        await using var stream = new GzipReadStream(new MemoryStream(blob));
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }

    /// <summary>Hands out at most <c>chunk</c> bytes a read, to put member ends on read boundaries.</summary>
    private sealed class ChunkedStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
    }
}

using System.Buffers.Binary;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class EifCorruptionTests
{
    private static EifFormatException OpenFails(byte[] image) => Assert.Throws<EifFormatException>(() => new EifReader(new MemoryStream(image)));

    [Fact]
    public void Bad_magic_is_reported_at_offset_zero()
    {
        var image = EifCorruption.UnsignedFixture();
        image[1] = (byte)'E';

        var error = OpenFails(image);

        Assert.Equal(EifError.BadMagic, error.Error);
        Assert.Equal(0, error.Offset);
        Assert.Contains("2e456966", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void Unsupported_versions_are_refused(ushort version)
    {
        var image = EifCorruption.UnsignedFixture();
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(4), version);

        var error = OpenFails(image);

        Assert.Equal(EifError.UnsupportedVersion, error.Error);
        Assert.Equal(4, error.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(100)]
    [InlineData(547)]
    [InlineData(548)]
    [InlineData(553)]
    [InlineData(559)]
    [InlineData(560)]
    [InlineData(1000)]
    [InlineData(1584)]
    [InlineData(1590)]
    [InlineData(1700)]
    [InlineData(2000)]
    [InlineData(3011)]
    [InlineData(4000)]
    [InlineData(6094)]
    public void Truncation_is_reported_where_the_file_ends(int length)
    {
        var image = EifCorruption.UnsignedFixture()[..length];

        var error = OpenFails(image);

        Assert.Equal(EifError.Truncated, error.Error);
        Assert.Equal(length, error.Offset);
    }

    [Fact]
    public void Section_size_disagreeing_with_the_header_is_reported_at_the_section_header()
    {
        var image = EifCorruption.UnsignedFixture();
        var cmdline = EifCorruption.SectionOffset(image, 1);
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan((int)cmdline + 4), 118);

        var error = OpenFails(image);

        Assert.Equal(EifError.SectionSizeMismatch, error.Error);
        Assert.Equal(cmdline + 4, error.Offset);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 12)]
    [InlineData(1L << 40)]
    public void A_section_claiming_more_than_the_file_holds_is_truncation_at_the_end_of_the_file(long size)
    {
        var image = EifCorruption.UnsignedFixture();
        var last = BinaryPrimitives.ReadUInt16BigEndian(image.AsSpan(0x1A)) - 1;
        var header = EifCorruption.SectionOffset(image, last);
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(0x11C + (8 * last)), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan((int)header + 4), (ulong)size);

        var error = OpenFails(EifCorruption.FixCrc(image));

        Assert.Equal(EifError.Truncated, error.Error);
        Assert.Equal(image.Length, error.Offset);
        Assert.Contains($"needs {size} bytes from offset {header + 12}, but {image.Length - header - 12} are left", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("-", error.Message.Split(':')[0], StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_32_sections_are_refused()
    {
        var image = EifCorruption.UnsignedFixture();
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(0x1A), 33);

        var error = OpenFails(image);

        Assert.Equal(EifError.TooManySections, error.Error);
        Assert.Equal(0x1A, error.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(0xFFFF)]
    public void Unknown_section_types_are_refused(ushort type)
    {
        var image = EifCorruption.UnsignedFixture();
        var metadata = EifCorruption.SectionOffset(image, 2);
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan((int)metadata), type);

        var error = OpenFails(image);

        Assert.Equal(EifError.UnknownSectionType, error.Error);
        Assert.Equal(metadata, error.Offset);
    }

    [Fact]
    public void Non_zero_section_flags_are_refused()
    {
        var image = EifCorruption.UnsignedFixture();
        var kernel = EifCorruption.SectionOffset(image, 0);
        image[kernel + 3] = 1;

        Assert.Equal(EifError.InvalidSectionFlags, OpenFails(image).Error);
    }

    [Fact]
    public void Section_offset_table_must_point_at_the_sections()
    {
        var image = EifCorruption.UnsignedFixture();
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(0x1C + 8), 1585);

        var error = OpenFails(image);

        Assert.Equal(EifError.SectionOffsetMismatch, error.Error);
        Assert.Equal(0x1C + 8, error.Offset);
    }

    [Fact]
    public void Bytes_after_the_last_section_are_refused()
    {
        byte[] image = [.. EifCorruption.UnsignedFixture(), 0];

        var error = OpenFails(image);

        Assert.Equal(EifError.TrailingData, error.Error);
        Assert.Equal(image.Length - 1, error.Offset);
    }

    [Fact]
    public void A_second_kernel_is_refused()
    {
        var image = EifCorruption.UnsignedFixture();
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan((int)EifCorruption.SectionOffset(image, 1)), (ushort)EifSectionType.Kernel);

        Assert.Equal(EifError.DuplicateSection, OpenFails(image).Error);
    }

    [Fact]
    public void An_image_without_ramdisks_is_refused()
    {
        var image = EifCorruption.UnsignedFixture()[..(int)EifCorruption.SectionOffset(EifCorruption.UnsignedFixture(), 3)];
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(0x1A), 3);

        Assert.Equal(EifError.MissingRamdisk, OpenFails(image).Error);
    }

    [Fact]
    public void An_image_without_a_cmdline_is_refused()
    {
        var image = EifCorruption.UnsignedFixture();
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan((int)EifCorruption.SectionOffset(image, 1)), (ushort)EifSectionType.Ramdisk);

        Assert.Equal(EifError.MissingCmdline, OpenFails(image).Error);
    }

    [Theory]
    [InlineData(600)]
    [InlineData(544)]
    [InlineData(6000)]
    public void A_changed_byte_is_a_crc_mismatch(int offset)
    {
        var image = EifCorruption.UnsignedFixture();
        image[offset] ^= 0x20;
        using var reader = new EifReader(new MemoryStream(image));
        using var inspection = reader.Inspect();

        Assert.False(inspection.CrcMatches);
        var error = Assert.Throws<EifFormatException>(inspection.ThrowIfCrcMismatch);
        Assert.Equal(EifError.CrcMismatch, error.Error);
        Assert.Equal(544, error.Offset);
    }

    [Fact]
    public void Sections_in_another_order_are_accepted()
    {
        var sections = EifFixtureTests.ReadSectionData("synthetic-unsigned.eif");
        (EifSectionType Type, byte[] Data)[] order =
        [
            (EifSectionType.Metadata, sections[2]), (EifSectionType.Kernel, sections[0]), (EifSectionType.Ramdisk, sections[3]),
            (EifSectionType.Cmdline, sections[1]), (EifSectionType.Ramdisk, sections[4]),
        ];
        using var output = new MemoryStream();
        using (var writer = new EifWriter(output, EifArchitecture.Arm64))
        {
            foreach (var (type, data) in order)
            {
                writer.WriteSection(type, data);
            }

            writer.Finish(signer: null);
        }

        output.Position = 0;
        using var reader = new EifReader(output);
        using var inspection = reader.Inspect();

        Assert.Equal(EifArchitecture.Arm64, reader.Header.Architecture);
        Assert.True(inspection.CrcMatches);
        Assert.Equal(TestVectors.Expected.GetProperty("unsigned").GetProperty("pcrs").GetProperty("PCR2").GetString(), Convert.ToHexStringLower(inspection.Measurements.Pcr2));
    }

    [Fact]
    public void The_writer_refuses_a_33rd_section()
    {
        var builder = new EifBuilder(new MemoryStream([1]), "x", EifMetadataTests.Sample());
        for (var i = 0; i < 30; i++)
        {
            builder.AddRamdisk(new MemoryStream([2]));
        }

        var error = Assert.Throws<ArgumentException>(() => builder.WriteTo(new MemoryStream()));

        Assert.Contains("at most 32 sections", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inputs_and_outputs_that_cannot_seek_are_refused()
    {
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);

        Assert.Throws<ArgumentException>(() => new EifBuilder(pipe, "x", EifMetadataTests.Sample()));
        var builder = new EifBuilder(new MemoryStream([1]), "x", EifMetadataTests.Sample());
        builder.AddRamdisk(new MemoryStream([2]));
        Assert.Throws<ArgumentException>(() => builder.WriteTo(pipe));
        Assert.Throws<ArgumentException>(() => new EifReader(pipe));
    }
}

using System.Text;
using Cloister.Build.Cpio;

namespace Cloister.Build.Tests.Cpio;

public sealed class CpioReaderTests
{
    private static byte[] Archive(string name, byte[]? data = null)
    {
        using var output = new MemoryStream();
        using (var writer = new CpioWriter(output, leaveOpen: true))
        {
            writer.WriteFile(name, 0x1A4, new MemoryStream(data ?? [7, 7, 7]));
        }

        return output.ToArray();
    }

    private static CpioFormatException ReadFails(byte[] archive) =>
        Assert.Throws<CpioFormatException>(() => CpioRoundTripTests.ReadAll(archive));

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    public void Names_that_escape_are_refused(string name)
    {
        var error = ReadFails(Archive(name));

        Assert.Equal(CpioError.UnsafePath, error.Error);
        Assert.Equal(110, error.Offset);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_with_dots_inside_components_are_accepted()
    {
        Assert.Equal("a/..b/c..", CpioRoundTripTests.ReadAll(Archive("a/..b/c..")).Single().Entry.Name);
    }

    [Fact]
    public void Wrong_magic_is_refused()
    {
        var archive = Archive("x");
        archive[5] = (byte)'2';

        var error = ReadFails(archive);

        Assert.Equal(CpioError.BadMagic, error.Error);
        Assert.Equal(0, error.Offset);
    }

    [Fact]
    public void A_non_hex_field_is_named()
    {
        var archive = Archive("x");
        archive[6 + (8 * 6) + 3] = (byte)'g';

        var error = ReadFails(archive);

        Assert.Equal(CpioError.BadHexField, error.Error);
        Assert.Equal(6 + (8 * 6), error.Offset);
        Assert.Contains("c_filesize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_without_its_nul_is_refused()
    {
        var archive = Archive("xyz");
        archive[113] = (byte)'!';

        Assert.Equal(CpioError.BadName, ReadFails(archive).Error);
    }

    [Fact]
    public void An_unknown_file_type_is_refused()
    {
        var archive = Archive("x");
        Encoding.ASCII.GetBytes("0000f1a4").CopyTo(archive, 14);

        Assert.Equal(CpioError.UnknownFileType, ReadFails(archive).Error);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(112)]
    [InlineData(114)]
    [InlineData(120)]
    public void Truncation_is_reported(int length)
    {
        var error = ReadFails(Archive("x", new byte[20])[..length]);

        Assert.Equal(CpioError.Truncated, error.Error);
    }

    [Fact]
    public void Garbage_after_the_trailer_is_refused()
    {
        var archive = Archive("x");
        archive[^3] = 1;

        var error = ReadFails(archive);

        Assert.Equal(CpioError.TrailingData, error.Error);
        Assert.Equal(archive.Length - 3, error.Offset);
    }

    [Fact]
    public void Unread_data_is_skipped()
    {
        using var output = new MemoryStream();
        using (var writer = new CpioWriter(output, leaveOpen: true))
        {
            writer.WriteFile("first", 0x1A4, new MemoryStream(new byte[5000]));
            writer.WriteDirectory("second", 0x1ED);
        }

        output.Position = 0;
        using var reader = new CpioReader(output);

        Assert.Equal("first", reader.GetNextEntry()!.Name);
        Assert.Equal("second", reader.GetNextEntry()!.Name);
        Assert.Null(reader.GetNextEntry());
    }
}

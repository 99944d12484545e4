using System.Text;
using Cloister.Build.Manifests;

namespace Cloister.Build.Tests.Manifests;

/// <summary>The manifest's bytes are UTF-8 or an error at the first bad byte; never a silent replacement character.</summary>
public sealed class ManifestTextTests
{
    private static ManifestError Fails(byte[] bytes) =>
        Assert.Single(Assert.Throws<ManifestException>(() => ManifestText.Decode(bytes, "enclave.yaml")).Errors);

    private static byte[] Bytes(string ascii, params byte[] tail) => [.. Encoding.UTF8.GetBytes(ascii), .. tail];

    [Theory]
    [InlineData(new byte[] { 0xFF }, 0xFF)]
    [InlineData(new byte[] { 0xC3, 0x28 }, 0xC3)]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 0xED)]
    [InlineData(new byte[] { 0xC0, 0xAF }, 0xC0)]
    [InlineData(new byte[] { 0xE2, 0x82 }, 0xE2)]
    public void A_byte_that_is_not_UTF8_is_named_with_its_line_and_column(byte[] bad, byte first)
    {
        var error = Fails(Bytes("name: app\nimage: ", bad));

        Assert.Equal((2, 8, ""), (error.Line, error.Column, error.Path));
        Assert.Equal($"enclave.yaml:2:8: not valid UTF-8 (byte 0x{first:X2}); save the manifest as UTF-8", error.ToString());
    }

    [Fact]
    public void Columns_count_characters_not_bytes()
    {
        var error = Fails(Bytes("# héllo ", 0xFF));

        Assert.Equal((1, 9), (error.Line, error.Column));
    }

    [Fact]
    public void UTF16_is_refused_at_its_byte_order_mark()
    {
        var error = Fails([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("name: app\n")]);

        Assert.Equal((1, 1), (error.Line, error.Column));
    }

    [Fact]
    public void A_UTF8_byte_order_mark_is_dropped_and_the_rest_decoded()
    {
        var text = ManifestText.Decode(Bytes("\uFEFFname: café\nimage: x\n"), "enclave.yaml");

        Assert.Equal("name: café\nimage: x\n", text);
    }
}

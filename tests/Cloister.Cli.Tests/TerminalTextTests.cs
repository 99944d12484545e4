using System.Text;

namespace Cloister.Cli.Tests;

public sealed class TerminalTextTests
{
    [Theory]
    [InlineData("a\0b\nc\u001b[31m", @"a\x00b\nc\x1b[31m")]
    [InlineData("tab\there\r\n", @"tab\there\r\n")]
    [InlineData("del\u007f c1\u009b31m", @"del\x7f c1\x9b31m")]
    [InlineData("right-to-left \u202egpj.exe", @"right-to-left \u202egpj.exe")]
    [InlineData("zero\u200bwidth, line\u2028break", @"zero\u200bwidth, line\u2028break")]
    [InlineData("invisible tag \U000E0041", @"invisible tag \ue0041")]
    public void Control_and_format_characters_become_visible_escapes(string text, string escaped)
    {
        Assert.Equal(escaped, TerminalText.Escape(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("i-0f8ca0b3e1c5d4a7b-enc0193fd7c6b1d2e3f")]
    [InlineData("CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US")]
    [InlineData(@"C:\path\with\x1b backslashes")]
    [InlineData("Zürich, 東京, \U0001F600, U+FFFD \uFFFD")]
    public void Printable_text_is_unchanged(string text)
    {
        Assert.Equal(text, TerminalText.Escape(text));
    }

    [Fact]
    public void Escaping_is_idempotent_and_leaves_nothing_a_terminal_acts_on()
    {
        var hostile = string.Concat(Enumerable.Range(0, 0x2100).Select(c => char.IsSurrogate((char)c) ? "" : ((char)c).ToString()));

        var once = TerminalText.Escape(hostile);

        Assert.Equal(once, TerminalText.Escape(once));
        Assert.DoesNotContain(once, c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);
    }

    [Fact]
    public void A_lone_surrogate_prints_as_the_replacement_character()
    {
        Assert.Equal("a\uFFFDb", TerminalText.Escape("a\uD800b"));
    }

    [Fact]
    public void A_table_row_escapes_its_value()
    {
        var table = new StringBuilder();

        TerminalText.AppendRow(table, "module id", "x\u001b[2Jy");

        Assert.Equal("module id    x\\x1b[2Jy" + Environment.NewLine, table.ToString());
    }
}

using System.Globalization;
using System.Text;

namespace Cloister.Cli;

/// <summary>
/// Text from outside (a document, a certificate, a server) made safe to print: control and invisible formatting
/// characters become visible escapes (<c>\n</c>, <c>\x1b</c>, <c>\u202e</c>), so a value can neither drive the
/// terminal (move the cursor, recolor, clear the screen), nor split a one-line message, nor hide or reorder text.
/// </summary>
/// <remarks>
/// Backslashes are left alone: the escapes are for reading, not for decoding back, and leaving them makes escaping
/// idempotent, so text escaped twice reads the same.
/// </remarks>
internal static class TerminalText
{
    private const int RowNameWidth = 12;

    /// <summary><paramref name="text"/> with every control, format and line- or paragraph-separator character escaped.</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (!IsUnsafe(rune))
            {
                escaped.Append(rune.ToString());
                continue;
            }

            escaped.Append(rune.Value switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                < 0x100 => string.Create(CultureInfo.InvariantCulture, $@"\x{rune.Value:x2}"),
                _ => string.Create(CultureInfo.InvariantCulture, $@"\u{rune.Value:x4}"),
            });
        }

        return escaped.ToString();
    }

    /// <summary>Appends one line of a name/value table, the value escaped.</summary>
    public static void AppendRow(StringBuilder table, string name, string value) =>
        table.Append(name.PadRight(RowNameWidth)).Append(' ').Append(Escape(value)).AppendLine();

    // A lone surrogate arrives here as U+FFFD (EnumerateRunes replaces it), which prints as itself.
    private static bool IsUnsafe(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}

using System.Buffers;
using System.Globalization;
using System.Text.Unicode;

namespace Cloister.Build.Manifests;

/// <summary>
/// Turns the bytes of <c>enclave.yaml</c> into text. The manifest is UTF-8 (with or without a byte order mark) and
/// nothing else: a byte that is not UTF-8 is an error at its line and column, never a silent U+FFFD that would change
/// a hostname, an argument or a variable.
/// </summary>
public static class ManifestText
{
    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    /// <summary>Decodes the manifest's bytes.</summary>
    /// <param name="utf8">The file's bytes.</param>
    /// <param name="source">The name errors are reported under, normally the file's name.</param>
    /// <returns>The text, without a leading byte order mark.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ManifestException">The bytes are not UTF-8; the error names the line and column of the first bad one.</exception>
    public static string Decode(ReadOnlySpan<byte> utf8, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8.StartsWith(ByteOrderMark))
        {
            utf8 = utf8[ByteOrderMark.Length..];
        }

        var chars = new char[utf8.Length];
        var status = Utf8.ToUtf16(utf8, chars, out var bytesRead, out var charsWritten, replaceInvalidSequences: false);
        if (status == OperationStatus.Done)
        {
            return new string(chars, 0, charsWritten);
        }

        // Everything before the bad byte decoded: its lines and columns count as the YAML parser's do.
        var before = chars.AsSpan(0, charsWritten);
        var lineStart = before.LastIndexOf('\n') + 1;
        var line = before.Count('\n') + 1;
        throw new ManifestException([new ManifestError(source, line, charsWritten - lineStart + 1, "", string.Create(
            CultureInfo.InvariantCulture, $"not valid UTF-8 (byte 0x{utf8[bytesRead]:X2}); save the manifest as UTF-8"))]);
    }
}

namespace Cloister.RuntimeBundler;

/// <summary>Text from files and servers that goes into an error message, which goes to a terminal.</summary>
internal static class Printable
{
    /// <summary>The text with control characters shown as <c>\uXXXX</c>, so none reaches the terminal raw.</summary>
    public static string Of(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}

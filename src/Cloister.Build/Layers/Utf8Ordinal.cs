using System.Text;

namespace Cloister.Build.Layers;

/// <summary>
/// Orders names as Go's <c>sort.Strings</c> does (bytewise on UTF-8), which is the order of Docker's export walk.
/// UTF-16 ordinal order differs for code points above U+FFFF against U+E000–U+FFFF, hence this comparer.
/// </summary>
internal sealed class Utf8Ordinal : IComparer<string>
{
    public static readonly Utf8Ordinal Instance = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }

        var left = x.EnumerateRunes();
        var right = y.EnumerateRunes();
        while (true)
        {
            var hasLeft = left.MoveNext();
            var hasRight = right.MoveNext();
            if (!hasLeft || !hasRight)
            {
                return hasLeft.CompareTo(hasRight);
            }

            var order = left.Current.Value.CompareTo(right.Current.Value);
            if (order != 0)
            {
                return order;
            }
        }
    }
}

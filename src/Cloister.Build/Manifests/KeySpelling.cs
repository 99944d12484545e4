namespace Cloister.Build.Manifests;

/// <summary>
/// Suggests the key a misspelt one was meant to be: a misspelt key is the commonest manifest mistake, and the nearest
/// known key within two edits is usually it.
/// </summary>
internal static class KeySpelling
{
    private const int MaxEdits = 2;

    /// <summary>The known key nearest to <paramref name="key"/>, or <see langword="null"/> when none is within two edits.</summary>
    public static string? Closest(string key, string[] known)
    {
        string? best = null;
        var bestDistance = MaxEdits + 1;
        foreach (var candidate in known)
        {
            var distance = EditDistance(key, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), substitution);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

namespace Cloister.Runtime.Dns;

/// <summary>The syntax of DNS names, as manifests, egress rules and certificates use them.</summary>
public static class DnsName
{
    /// <summary>Whether <paramref name="label"/> is one DNS label: 1–63 letters, digits or '-', not starting or ending with '-'.</summary>
    /// <param name="label">The label.</param>
    /// <param name="allowUnderscore">Whether '_' is allowed too, as in service names (<c>_dmarc</c>) that egress rules may name.</param>
    /// <returns>Whether the label is valid.</returns>
    public static bool IsValidLabel(ReadOnlySpan<char> label, bool allowUnderscore = false)
    {
        if (label.Length is < 1 or > 63 || label[0] == '-' || label[^1] == '-')
        {
            return false;
        }

        foreach (var c in label)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && !(allowUnderscore && c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="name"/> is a hostname a certificate can carry: valid labels, at most 253 characters.</summary>
    /// <param name="name">The name, without a trailing dot.</param>
    /// <returns>Whether the name is valid.</returns>
    public static bool IsValidHostname(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 253)
        {
            return false;
        }

        foreach (var range in name.AsSpan().Split('.'))
        {
            if (!IsValidLabel(name.AsSpan()[range]))
            {
                return false;
            }
        }

        return true;
    }
}

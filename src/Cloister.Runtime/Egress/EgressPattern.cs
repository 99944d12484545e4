using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Dns;

namespace Cloister.Runtime.Egress;

/// <summary>
/// One egress rule: a hostname pattern (labels matched right to left, <c>*</c> for exactly one label,
/// <c>**</c> for one or more), an IP address, or a CIDR block, each optionally limited to one port.
/// </summary>
/// <remarks>
/// Hostname patterns never match IP literals and IP rules never match names: a name is matched as the app asked
/// for it, before any resolution, and the host refuses private destinations on its own after resolving.
/// Examples: <c>api.stripe.com</c>, <c>*.amazonaws.com:443</c>, <c>**.example.org</c>, <c>10.0.0.0/8</c>, <c>[2001:db8::1]:8443</c>.
/// </remarks>
public sealed class EgressPattern
{
    private readonly string[]? _labels;
    private readonly IPNetwork? _network;

    private EgressPattern(string text, string[]? labels, IPNetwork? network, int? port)
    {
        Text = text;
        _labels = labels;
        _network = network;
        Port = port;
    }

    /// <summary>The rule as written.</summary>
    public string Text { get; }

    /// <summary>The only port the rule matches, or <see langword="null"/> for any port.</summary>
    public int? Port { get; }

    /// <summary>Parses a rule.</summary>
    /// <param name="text">The rule as written in the manifest.</param>
    /// <returns>The parsed rule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The rule is not a valid hostname pattern, IP address or CIDR block; the message says why.</exception>
    public static EgressPattern Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var pattern, out var error) ? pattern : throw new FormatException(error);
    }

    /// <summary>Parses a rule without throwing.</summary>
    /// <param name="text">The rule as written in the manifest.</param>
    /// <param name="pattern">The parsed rule, when valid.</param>
    /// <param name="error">Why the rule is invalid, when it is.</param>
    /// <returns>Whether <paramref name="text"/> is a valid rule.</returns>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EgressPattern? pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an egress rule cannot be empty";
            return false;
        }

        if (!SplitPort(text, out var host, out var port, out error))
        {
            return false;
        }

        // IPNetwork.TryParse quietly clears host bits ("10.0.0.1/8" → 10.0.0.0/8); a rule that says more than it
        // means is refused instead, since the author clearly meant something else.
        if (host.Contains('/', StringComparison.Ordinal) && IPNetwork.TryParse(host, out var network) && IPAddress.Parse(host[..host.IndexOf('/', StringComparison.Ordinal)]).Equals(network.BaseAddress))
        {
            pattern = new EgressPattern(text, null, network, port);
            return true;
        }

        if (IPAddress.TryParse(host, out var address) && LooksLikeAddress(host))
        {
            pattern = new EgressPattern(text, null, new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128), port);
            return true;
        }

        if (host.Contains('/', StringComparison.Ordinal))
        {
            error = $"'{text}' is not a valid CIDR block (expected e.g. 10.0.0.0/8 with no host bits set)";
            return false;
        }

        var labels = host.TrimEnd('.').ToLowerInvariant().Split('.');
        foreach (var label in labels)
        {
            if (label is not ("*" or "**") && !DnsName.IsValidLabel(label, allowUnderscore: true))
            {
                error = label.Contains('*', StringComparison.Ordinal)
                    ? $"'{text}': '*' must stand alone as a whole label ('*' is one label, '**' one or more)"
                    : $"'{text}': '{label}' is not a valid hostname label (letters, digits, '-' and '_', 1–63 characters)";
                return false;
            }
        }

        pattern = new EgressPattern(text, labels, null, port);
        return true;
    }

    /// <summary>Whether the rule matches a destination.</summary>
    /// <param name="host">The host the app asked for: a name or an IP literal.</param>
    /// <param name="port">The destination port.</param>
    /// <returns><see langword="true"/> when the rule covers the destination.</returns>
    public bool Matches(EgressDestination host, int port)
    {
        if (Port is { } only && only != port)
        {
            return false;
        }

        return host.Address is { } address
            ? _network is { } network && network.Contains(address)
            : _labels is not null && MatchLabels(_labels, host.Labels);
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    // Right to left: the pattern's last label meets the name's last label; '**' takes one or more labels.
    private static bool MatchLabels(ReadOnlySpan<string> pattern, ReadOnlySpan<string> name)
    {
        while (pattern.Length > 0)
        {
            var last = pattern[^1];
            if (last == "**")
            {
                for (var taken = 1; taken <= name.Length; taken++)
                {
                    if (MatchLabels(pattern[..^1], name[..^taken]))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (name.Length == 0 || (last != "*" && !string.Equals(last, name[^1], StringComparison.Ordinal)))
            {
                return false;
            }

            pattern = pattern[..^1];
            name = name[..^1];
        }

        return name.Length == 0;
    }

    private static bool SplitPort(string text, out string host, out int? port, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        port = null;
        error = null;
        host = text.Trim();
        string? portText = null;
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{text}': '[' without a closing ']'";
                return false;
            }

            var rest = host[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = $"'{text}': expected ':port' after ']'";
                    return false;
                }

                portText = rest[1..];
            }

            host = host[1..close];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            var colon = host.IndexOf(':', StringComparison.Ordinal);
            portText = host[(colon + 1)..];
            host = host[..colon];
        }

        if (portText is not null)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 65535)
            {
                error = $"'{text}': port '{portText}' is not a number from 1 to 65535";
                return false;
            }

            port = value;
        }

        return true;
    }

    // IPAddress.TryParse also takes shorthand such as "10" or "1.2"; a rule must spell the address out.
    private static bool LooksLikeAddress(string host) =>
        host.Contains(':', StringComparison.Ordinal) || host.Count(c => c == '.') == 3;
}

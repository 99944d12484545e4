using System.Net;
using Cloister.Runtime.Dns;

namespace Cloister.Runtime.Egress;

/// <summary>A destination host as the app named it: an IP literal, or a hostname split into lowercase labels.</summary>
public readonly struct EgressDestination
{
    private EgressDestination(IPAddress? address, string[] labels)
    {
        Address = address;
        Labels = labels;
    }

    /// <summary>The address when the host is an IP literal (IPv4-mapped IPv6 unwrapped), else <see langword="null"/>.</summary>
    public IPAddress? Address { get; }

    /// <summary>The hostname's labels, lowercase, when the host is a name; empty for an address.</summary>
    public string[] Labels { get; }

    /// <summary>Classifies a host from a CONNECT line or a URL.</summary>
    /// <param name="host">A hostname, an IPv4 literal, or an IPv6 literal with or without brackets.</param>
    /// <returns>The destination.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="host"/> is neither a valid hostname nor an IP literal.</exception>
    public static EgressDestination Parse(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        // Every spelling the resolver would take as an address (including shorthand like "127.1") is an address
        // here, so a hostname rule can never be satisfied by an IP in disguise.
        if (IPAddress.TryParse(bare, out var address))
        {
            return new EgressDestination(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, []);
        }

        var labels = bare.TrimEnd('.').ToLowerInvariant().Split('.');
        if (bare.Length == 0 || labels.Any(label => !DnsName.IsValidLabel(label, allowUnderscore: true)))
        {
            throw new FormatException($"'{host}' is not a valid hostname or IP address");
        }

        return new EgressDestination(null, labels);
    }

    /// <inheritdoc/>
    public override string ToString() => Address?.ToString() ?? string.Join('.', Labels);
}

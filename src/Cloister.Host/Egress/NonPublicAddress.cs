using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Cloister.Host.Egress;

/// <summary>A block of addresses that is not public unicast.</summary>
/// <param name="Network">The block.</param>
/// <param name="Kind">What it is, as a refusal message says it: "loopback", "private (RFC 1918)", ….</param>
/// <param name="NeverAllowed">
/// Whether no configuration may let an enclave connect there: unspecified (which Linux quietly treats as the local host),
/// multicast and broadcast are not one destination.
/// </param>
public sealed record NonPublicRange(IPNetwork Network, string Kind, bool NeverAllowed);

/// <summary>
/// The address ranges an enclave must not reach through the host by default: the host itself, its private networks,
/// link-local services such as the instance metadata service (169.254.169.254), and addresses that are not a single
/// destination at all.
/// </summary>
public static class NonPublicAddress
{
    // IPv6 prefixes that embed an IPv4 address in their last 32 bits are judged by that IPv4 address: 64:ff9b::/96 is
    // NAT64, which a DNS64 resolver could use to dress 169.254.169.254 up as a "public" IPv6 address.
    private static readonly IPNetwork s_nat64 = IPNetwork.Parse("64:ff9b::/96");

    private static readonly NonPublicRange[] s_ranges =
    [
        new(IPNetwork.Parse("0.0.0.0/8"), "unspecified ('this network', 0.0.0.0/8)", NeverAllowed: true),
        new(IPNetwork.Parse("127.0.0.0/8"), "loopback", NeverAllowed: false),
        new(IPNetwork.Parse("10.0.0.0/8"), "private (RFC 1918)", NeverAllowed: false),
        new(IPNetwork.Parse("172.16.0.0/12"), "private (RFC 1918)", NeverAllowed: false),
        new(IPNetwork.Parse("192.168.0.0/16"), "private (RFC 1918)", NeverAllowed: false),
        new(IPNetwork.Parse("169.254.0.0/16"), "link-local (169.254.0.0/16, where the instance metadata service lives)", NeverAllowed: false),
        new(IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)", NeverAllowed: false),
        new(IPNetwork.Parse("224.0.0.0/4"), "multicast", NeverAllowed: true),
        new(IPNetwork.Parse("255.255.255.255/32"), "broadcast", NeverAllowed: true),
        new(IPNetwork.Parse("::/128"), "unspecified", NeverAllowed: true),
        new(IPNetwork.Parse("::1/128"), "loopback", NeverAllowed: false),
        new(IPNetwork.Parse("fc00::/7"), "unique local (fc00::/7)", NeverAllowed: false),
        new(IPNetwork.Parse("fe80::/10"), "link-local (fe80::/10)", NeverAllowed: false),
        new(IPNetwork.Parse("ff00::/8"), "multicast", NeverAllowed: true),
    ];

    /// <summary>Whether an address lies in a non-public range, and which.</summary>
    /// <param name="address">The address; IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside.</param>
    /// <param name="range">The range it lies in, when it is not public.</param>
    /// <returns><see langword="true"/> when <paramref name="address"/> is not a public unicast address.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <see langword="null"/>.</exception>
    public static bool TryClassify(IPAddress address, [NotNullWhen(true)] out NonPublicRange? range)
    {
        ArgumentNullException.ThrowIfNull(address);
        var effective = Unwrap(address);
        range = Array.Find(s_ranges, candidate => candidate.Network.Contains(effective));
        return range is not null;
    }

    private static IPAddress Unwrap(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && s_nat64.Contains(address))
        {
            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out _);
            return new IPAddress(bytes[12..]);
        }

        return address;
    }
}

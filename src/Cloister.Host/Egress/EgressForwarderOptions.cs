using System.Net;

namespace Cloister.Host.Egress;

/// <summary>Resolves a host name to the addresses the forwarder will check and may connect to.</summary>
/// <param name="host">The lowercase host name from the enclave's request.</param>
/// <param name="cancellationToken">Cancels the lookup.</param>
/// <returns>The addresses, in the order to try them.</returns>
public delegate Task<IPAddress[]> EgressHostResolver(string host, CancellationToken cancellationToken);

/// <summary>How the host's egress forwarder treats the enclave's requests.</summary>
public sealed class EgressForwarderOptions
{
    /// <summary>
    /// Let the enclave reach loopback, private, link-local (the instance metadata service included), CGNAT and
    /// unique-local addresses. Off by default; unspecified, multicast and broadcast addresses stay refused regardless.
    /// </summary>
    public bool AllowPrivateDestinations { get; init; }

    /// <summary>Non-public blocks the enclave may reach even when <see cref="AllowPrivateDestinations"/> is off, e.g. a VPC's database subnet.</summary>
    public IReadOnlyList<IPNetwork> AllowedPrivateNetworks { get; init; } = [];

    /// <summary>How long resolving the name and connecting to the destination may take, together.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the enclave may take to send its <c>host:port</c> line after connecting.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Resolves host names; <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/> unless replaced (tests map names without a hosts file).</summary>
    public EgressHostResolver Resolve { get; init; } = Dns.GetHostAddressesAsync;

    /// <summary>Receives one record per connection decision and one when each forwarded connection ends; called concurrently.</summary>
    public Action<EgressForwarderEvent>? Log { get; init; }
}

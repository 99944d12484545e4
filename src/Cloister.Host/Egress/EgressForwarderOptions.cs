using System.Net;
using Cloister.Runtime.Logging;

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

    /// <summary>
    /// How long a relayed connection may carry nothing, either way, before the host ends it cleanly;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for never. Ten minutes, twice the enclave proxy's own five: this is the
    /// operator's backstop against an enclave that does not bound itself, so an enclave running Cloister's proxy meets its
    /// own timeout first. Lower it to impose a shorter one; the shorter of the two applies.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The most connections from the enclave served at once, from accept to close; one more is answered
    /// <c>ERR too many connections: …</c> after its request line, without a lookup or a connect. 2048, twice the enclave
    /// proxy's own limit, for the same reason as <see cref="IdleTimeout"/>: the proxy's precise 503 comes first, and the
    /// host's limit still holds while closed tunnels are being torn down.
    /// </summary>
    public int MaxTunnels { get; init; } = 2048;

    /// <summary>The least time between two log lines about connections refused over <see cref="MaxTunnels"/>; each line counts those held back.</summary>
    public TimeSpan OverloadLogInterval { get; init; } = LogThrottle.DefaultInterval;

    /// <summary>Resolves host names; <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/> unless replaced (tests map names without a hosts file).</summary>
    public EgressHostResolver Resolve { get; init; } = Dns.GetHostAddressesAsync;

    /// <summary>Receives one record per connection decision and one when each forwarded connection ends; called concurrently.</summary>
    public Action<EgressForwarderEvent>? Log { get; init; }
}

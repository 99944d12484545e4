using System.Net;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Egress;

/// <summary>Where the egress proxy listens and how patient it is.</summary>
internal sealed class EgressProxyOptions
{
    /// <summary>The address to listen on: loopback, since only the app inside the enclave may use the proxy.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The port to listen on; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = EgressRules.ProxyPort;

    /// <summary>The largest request head (request line and headers) the proxy reads; a larger one gets 400.</summary>
    public int MaxHeadBytes { get; init; } = 16 * 1024;

    /// <summary>How long the app may take to send a whole request head after connecting; a slower one gets 408.</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the host may take to answer an egress request; longer than the host's own connect timeout (10 s by
    /// default), so its precise ERR normally arrives first. A slower host gets the app a 504.
    /// </summary>
    public TimeSpan HostTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a tunnel or forwarded request may carry nothing, either way, before the proxy ends it cleanly (the app and
    /// the host each read end of stream); <see cref="Timeout.InfiniteTimeSpan"/> for never. Five minutes: longer than any
    /// keep-alive ping or long poll an app would rely on, shorter than the 350 s after which AWS NAT gateways and load
    /// balancers silently forget a connection, so an idle tunnel ends with an orderly close rather than a later reset.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The most connections the proxy serves at once, from accept to close (reading the head, waiting for the host, or
    /// relaying); one more gets a 503 naming the limit. Each costs two sockets and, while its bytes move, a 16 KiB buffer
    /// per direction.
    /// </summary>
    public int MaxTunnels { get; init; } = 1024;

    /// <summary>The least time between two log lines about connections refused over <see cref="MaxTunnels"/>; each line counts those held back.</summary>
    public TimeSpan OverloadLogInterval { get; init; } = LogThrottle.DefaultInterval;

    /// <summary>Receives one record per decision and per closed connection; called concurrently.</summary>
    public Action<EgressProxyEvent>? Log { get; init; }
}

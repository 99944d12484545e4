using System.Net;
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

    /// <summary>Receives one record per decision and per closed connection; called concurrently.</summary>
    public Action<EgressProxyEvent>? Log { get; init; }
}

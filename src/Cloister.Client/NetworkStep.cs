namespace Cloister.Client;

/// <summary>The network step a <see cref="NetworkTimeoutException"/> timed out in, in the order a request takes them.</summary>
public enum NetworkStep
{
    /// <summary>Resolving the host and opening the TCP connection (<see cref="ClientTimeouts.Connect"/>).</summary>
    Connect,

    /// <summary>The TLS handshake, attestation included (<see cref="ClientTimeouts.Connect"/>, shared with <see cref="Connect"/>).</summary>
    TlsHandshake,

    /// <summary>Writing the request: the server stopped reading it (<see cref="ClientTimeouts.Response"/>).</summary>
    Request,

    /// <summary>Waiting for the response headers (<see cref="ClientTimeouts.Response"/>).</summary>
    ResponseHeaders,

    /// <summary>Reading the response body: no data arrived for too long (<see cref="ClientTimeouts.Response"/>).</summary>
    ResponseBody,
}

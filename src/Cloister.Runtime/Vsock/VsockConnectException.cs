namespace Cloister.Runtime.Vsock;

/// <summary>Nobody accepted a connection to a vsock address: no listener on that port, or no such CID.</summary>
public sealed class VsockConnectException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="endpoint">The address that refused.</param>
    /// <param name="detail">What the transport observed, e.g. the socket file that is missing.</param>
    /// <param name="innerException">The underlying failure.</param>
    public VsockConnectException(VsockEndpoint endpoint, string detail, Exception? innerException)
        : base($"nothing listens on vsock {endpoint}: {detail}", innerException)
    {
        Endpoint = endpoint;
    }

    /// <summary>The address that refused.</summary>
    public VsockEndpoint Endpoint { get; }
}

using Cloister.Attestation.Certificates;

namespace Cloister.Client.Http;

/// <summary>One connection of an <see cref="AttestingHttpHandler"/> passed attestation during its handshake.</summary>
public sealed class AttestedConnectionEventArgs : EventArgs
{
    internal AttestedConnectionEventArgs(string serverName, string host, AttestedTlsResult result)
    {
        ServerName = serverName;
        Host = host;
        Result = result;
    }

    /// <summary>The server name (SNI) the connection sent: the host, or a nonce name.</summary>
    public string ServerName { get; }

    /// <summary>The host the certificate was checked for.</summary>
    public string Host { get; }

    /// <summary>The successful verification: the document, the certificate's thumbprint, the nonce checked.</summary>
    public AttestedTlsResult Result { get; }
}

using System.Net.Security;
using Cloister.Attestation.Certificates;

namespace Cloister.Client.Tls;

/// <summary>A TLS connection whose server passed attestation; disposing it closes the connection.</summary>
public sealed class AttestedTlsConnection : IAsyncDisposable, IDisposable
{
    internal AttestedTlsConnection(SslStream stream, AttestedTlsResult result)
    {
        Stream = stream;
        Result = result;
    }

    /// <summary>The authenticated stream, ready for the application protocol.</summary>
    public SslStream Stream { get; }

    /// <summary>The successful verification: the document, the certificate's thumbprint, the nonce checked.</summary>
    public AttestedTlsResult Result { get; }

    /// <summary>Closes the connection.</summary>
    public void Dispose() => Stream.Dispose();

    /// <summary>Closes the connection.</summary>
    /// <returns>A task that completes when it is closed.</returns>
    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

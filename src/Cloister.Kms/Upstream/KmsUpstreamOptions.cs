using System.Security.Cryptography.X509Certificates;
using Cloister.Kms.Credentials;

namespace Cloister.Kms.Upstream;

/// <summary>Where <see cref="KmsUpstream"/> sends calls, how it gets there, and its bounds.</summary>
public sealed class KmsUpstreamOptions
{
    /// <summary>The default bound on opening the tunnel and the TLS handshake.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default bound on one whole call: credentials, connection, request and answer.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The largest answer read, as the proxy's own bound on requests (KMS answers are a few KiB).</summary>
    public const int DefaultMaxAnswerBytes = 1 << 20;

    /// <summary>The KMS endpoint, <c>https://host[:port]/</c>: <c>https://kms.REGION.amazonaws.com/</c> unless the manifest names another.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The signing region, e.g. <c>us-east-1</c>.</summary>
    public required string Region { get; init; }

    /// <summary>The certificates the endpoint's chain must end in; no system root is trusted.</summary>
    public required X509Certificate2Collection TrustRoots { get; init; }

    /// <summary>
    /// Opens a byte stream to the endpoint's host and port (in the enclave: through the host's egress forwarder). The
    /// stream carries TLS end to end; whoever relays it sees ciphertext only. Exceptions become the call's
    /// <see cref="KmsUpstreamException"/> with their message.
    /// </summary>
    public required Func<string, int, CancellationToken, ValueTask<Stream>> OpenTunnel { get; init; }

    /// <summary>Gets the credentials to sign with; throws <see cref="KmsCredentialsException"/> when there are none.</summary>
    public required Func<CancellationToken, ValueTask<AwsCredentials>> Credentials { get; init; }

    /// <summary>The bound on opening the tunnel and the TLS handshake.</summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <summary>The bound on one whole call.</summary>
    public TimeSpan CallTimeout { get; init; } = DefaultCallTimeout;

    /// <summary>The largest answer body read; a larger one fails the call.</summary>
    public int MaxAnswerBytes { get; init; } = DefaultMaxAnswerBytes;

    /// <summary>The clock that dates signatures.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The default endpoint of a region.</summary>
    /// <param name="region">The region, e.g. <c>us-east-1</c>.</param>
    /// <returns><c>https://kms.REGION.amazonaws.com/</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="region"/> is empty or not a host name label.</exception>
    public static Uri DefaultEndpoint(string region)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        return Uri.CheckHostName($"kms.{region}.amazonaws.com") == UriHostNameType.Dns && !region.Contains('.', StringComparison.Ordinal)
            ? new Uri($"https://kms.{region}.amazonaws.com/")
            : throw new ArgumentException($"region '{region}' is not a host name label", nameof(region));
    }
}

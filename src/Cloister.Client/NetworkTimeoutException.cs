using System.Globalization;

namespace Cloister.Client;

/// <summary>A network step took longer than its <see cref="ClientTimeouts"/> bound; the message names the step, the server and the bound.</summary>
public sealed class NetworkTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The step that timed out.</param>
    /// <param name="endpoint">The server, <c>host:port</c>.</param>
    /// <param name="timeout">The bound that was exceeded.</param>
    /// <param name="innerException">The cancellation the timeout caused, if any.</param>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is not a defined <see cref="NetworkStep"/>.</exception>
    public NetworkTimeoutException(NetworkStep step, string endpoint, TimeSpan timeout, Exception? innerException = null)
        : base(Describe(step, endpoint ?? throw new ArgumentNullException(nameof(endpoint)), timeout), innerException)
    {
        Step = step;
        Endpoint = endpoint;
        Timeout = timeout;
    }

    /// <summary>The step that timed out.</summary>
    public NetworkStep Step { get; }

    /// <summary>The server, <c>host:port</c>.</summary>
    public string Endpoint { get; }

    /// <summary>The bound that was exceeded.</summary>
    public TimeSpan Timeout { get; }

    /// <summary><c>host:port</c>, with an IPv6 address in brackets.</summary>
    internal static string FormatEndpoint(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";

    private static string Describe(NetworkStep step, string endpoint, TimeSpan timeout)
    {
        var bound = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
        return step switch
        {
            NetworkStep.Connect => $"connecting to {endpoint} timed out after {bound}",
            NetworkStep.TlsHandshake => $"the TLS handshake with {endpoint} timed out after {bound}",
            NetworkStep.Request => $"sending the request to {endpoint} stalled: the server read nothing for {bound}",
            NetworkStep.ResponseHeaders => $"waiting for the response headers from {endpoint} timed out after {bound}",
            NetworkStep.ResponseBody => $"reading the response body from {endpoint} stalled: no data for {bound}",
            _ => throw new ArgumentOutOfRangeException(nameof(step), step, "not a network step"),
        };
    }
}

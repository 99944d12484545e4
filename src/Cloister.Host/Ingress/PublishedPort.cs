using System.Globalization;

namespace Cloister.Host.Ingress;

/// <summary>
/// <c>--publish HOSTPORT:PORT</c>: the host listens on <see cref="HostPort"/> for the manifest's ingress port
/// <see cref="EnclavePort"/>, instead of on the same number (which may be privileged or taken). Host port 0 lets the
/// system choose a free port.
/// </summary>
/// <param name="HostPort">The TCP port on the host (0–65535).</param>
/// <param name="EnclavePort">The manifest's ingress port, which is also the enclave's vsock port (1–65535).</param>
public sealed record PublishedPort(int HostPort, int EnclavePort)
{
    /// <summary>Parses <c>HOSTPORT:PORT</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The mapping.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The text is not two decimal ports separated by a colon.</exception>
    public static PublishedPort Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"publish '{text}': expected HOSTPORT:PORT, e.g. 8443:443");
        }

        return new PublishedPort(Port(text, text[..colon], "HOSTPORT", 0), Port(text, text[(colon + 1)..], "PORT", 1));
    }

    private static int Port(string text, string part, string what, int minimum) =>
        int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port >= minimum && port <= 65535
            ? port
            : throw new FormatException($"publish '{text}': {what} '{part}' is not a port number {minimum}–65535");
}

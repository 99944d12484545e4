using System.Globalization;

namespace Cloister.Build.Images.Packing;

/// <summary>A port the image says its process listens on (<c>config.ExposedPorts</c>, key <c>PORT/PROTOCOL</c>).</summary>
/// <param name="Port">1–65535.</param>
/// <param name="Protocol"><c>tcp</c> or <c>udp</c>.</param>
public sealed record ExposedPort(int Port, string Protocol)
{
    /// <summary>Parses <c>PORT</c> (TCP) or <c>PORT/tcp</c> or <c>PORT/udp</c>.</summary>
    /// <param name="text">The value of <c>--expose</c>.</param>
    /// <returns>The port.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The port is not a decimal 1–65535, or the protocol is neither tcp nor udp.</exception>
    public static ExposedPort Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var portText = slash < 0 ? text : text[..slash];
        var protocol = slash < 0 ? "tcp" : text[(slash + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535 || portText.StartsWith('0'))
        {
            throw new FormatException($"'{text}': the port '{portText}' is not a number from 1 to 65535");
        }

        return protocol is "tcp" or "udp"
            ? new ExposedPort(port, protocol)
            : throw new FormatException($"'{text}': the protocol '{protocol}' is neither tcp nor udp");
    }

    /// <summary><c>PORT/PROTOCOL</c>, the key of <c>config.ExposedPorts</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Port}/{Protocol}");
}

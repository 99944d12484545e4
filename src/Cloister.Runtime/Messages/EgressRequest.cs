using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Runtime.Egress;

namespace Cloister.Runtime.Messages;

/// <summary>
/// The line that opens every egress connection (vsock port 7002): <c>host:port\n</c>, where host is a hostname, an IPv4
/// address, or an IPv6 address in brackets. Raw bytes follow once the host has answered with an <see cref="EgressResponse"/>.
/// </summary>
public sealed class EgressRequest
{
    /// <summary>The longest request line either side accepts, <c>'\n'</c> excluded.</summary>
    public const int MaxLineLength = 1024;

    /// <summary>Creates a request.</summary>
    /// <param name="host">A hostname, an IPv4 address, or an IPv6 address with or without brackets.</param>
    /// <param name="port">The TCP port, 1–65535.</param>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is outside 1–65535.</exception>
    /// <exception cref="FormatException"><paramref name="host"/> is not a hostname or an IP address.</exception>
    public EgressRequest(string host, int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, IPEndPoint.MinPort + 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        Destination = EgressDestination.Parse(host);
        Port = port;
    }

    /// <summary>The host, classified as the egress policy sees it.</summary>
    public EgressDestination Destination { get; }

    /// <summary>The host as text: the lowercase name, or the address without brackets.</summary>
    public string Host => Destination.ToString();

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>Parses <c>host:port</c> strictly: no spaces, no scheme, a decimal port 1–65535 without leading zeros, IPv6 only in brackets.</summary>
    /// <param name="text">The text, without the line's <c>'\n'</c>.</param>
    /// <returns>The request.</returns>
    /// <exception cref="FormatException">The text is not a valid <c>host:port</c>; the message says which part is wrong.</exception>
    public static EgressRequest Parse(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            throw new FormatException("egress request: empty, expected host:port");
        }

        string host;
        ReadOnlySpan<char> port;
        if (text[0] == '[')
        {
            var close = text.IndexOf(']');
            if (close < 0)
            {
                throw new FormatException($"egress request '{text}': '[' at offset 0 has no closing ']'");
            }

            host = text[1..close].ToString();
            if (!IPAddress.TryParse(host, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new FormatException($"egress request '{text}': '{host}' in brackets is not an IPv6 address");
            }

            if (close + 1 >= text.Length || text[close + 1] != ':')
            {
                throw new FormatException($"egress request '{text}': expected ':' and a port after ']' at offset {close}");
            }

            port = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                throw new FormatException($"egress request '{text}': no ':port'");
            }

            if (text[..colon].Contains(':'))
            {
                throw new FormatException($"egress request '{text}': more than one ':'; an IPv6 address must be in brackets");
            }

            host = text[..colon].ToString();
            port = text[(colon + 1)..];
        }

        var portNumber = ParsePort(text, port);
        try
        {
            return new EgressRequest(host, portNumber);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"egress request '{text}': {ex.Message}", ex);
        }
    }

    /// <summary>Reads the request line, leaving the raw bytes after it in <paramref name="reader"/>.</summary>
    /// <param name="reader">The connection's reader.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The line is longer than <see cref="MaxLineLength"/>, not ASCII, or not a valid <c>host:port</c>.</exception>
    /// <exception cref="EndOfStreamException">The stream ended before the line was complete.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<EgressRequest> ReadAsync(PipeReader reader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return await LineFraming.ReadLineAsync(reader, MaxLineLength, "egress request", ParseLine, cancellationToken)
            ?? throw new EndOfStreamException("egress request: the connection closed before the host:port line");
    }

    /// <summary>Writes the request line.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the line is written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask WriteAsync(Stream stream, CancellationToken cancellationToken = default) =>
        LineIO.WriteAsciiLineAsync(stream, ToString(), cancellationToken);

    /// <summary>The request as <c>host:port</c>, an IPv6 address in brackets.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Destination.Address?.AddressFamily == AddressFamily.InterNetworkV6
        ? string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    private static EgressRequest ParseLine(ReadOnlySpan<byte> line)
    {
        if (!Ascii.IsValid(line))
        {
            throw new InvalidDataException($"egress request: byte at offset {line.IndexOfAnyInRange((byte)0x80, (byte)0xFF)} is not ASCII");
        }

        Span<char> text = stackalloc char[line.Length];
        Ascii.ToUtf16(line, text, out _);
        try
        {
            return Parse(text);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    private static int ParsePort(ReadOnlySpan<char> text, ReadOnlySpan<char> port)
    {
        if (port.IsEmpty || port.Length > 5 || port[0] == '0' || port.ContainsAnyExceptInRange('0', '9'))
        {
            throw new FormatException($"egress request '{text}': port '{port}' is not a decimal number 1–65535");
        }

        var value = int.Parse(port, NumberStyles.None, CultureInfo.InvariantCulture);
        return value <= IPEndPoint.MaxPort
            ? value
            : throw new FormatException($"egress request '{text}': port {value} is above {IPEndPoint.MaxPort}");
    }
}

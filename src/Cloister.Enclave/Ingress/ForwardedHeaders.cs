using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Attestation.Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// What the app learns about the client: <c>X-Forwarded-For</c> (the client's address from the PROXY header appended to
/// any the request carried), <c>X-Forwarded-Proto: https</c> and <c>X-Forwarded-Host</c> (set, replacing whatever the
/// client sent: only we know them), and RFC 7239 <c>Forwarded</c> with one element for this hop appended.
/// </summary>
internal static class ForwardedHeaders
{
    public const string XForwardedFor = "X-Forwarded-For";
    public const string XForwardedProto = "X-Forwarded-Proto";
    public const string XForwardedHost = "X-Forwarded-Host";
    public const string Forwarded = "Forwarded";

    /// <summary>Whether the copy of the client's headers skips <paramref name="name"/>, because <see cref="Add"/> writes it.</summary>
    public static bool IsWrittenHere(string name) =>
        name.Equals(XForwardedFor, StringComparison.OrdinalIgnoreCase)
        || name.Equals(XForwardedProto, StringComparison.OrdinalIgnoreCase)
        || name.Equals(XForwardedHost, StringComparison.OrdinalIgnoreCase)
        || name.Equals(Forwarded, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The host the client meant. A nonce name's <c>&lt;nonce&gt;.attest.</c> prefix (which Cloister's client carries in
    /// Host, the header its HTTP stack takes SNI from) only asks TLS for a fresh certificate: the app sees the host behind it.
    /// </summary>
    public static string? IntendedHost(HostString host) =>
        !host.HasValue ? null
        : NonceHostName.TryParse(host.Host, out _, out var intended) ? (host.Port is { } port ? $"{intended}:{port.ToString(CultureInfo.InvariantCulture)}" : intended)
        : host.Value;

    /// <summary>Adds the four headers to <paramref name="target"/> for the request in <paramref name="context"/>.</summary>
    public static void Add(HttpContext context, HttpRequestMessage target)
    {
        var client = context.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : context.Connection.RemoteIpAddress;
        var host = IntendedHost(context.Request.Host);
        var headers = context.Request.Headers;
        var clientText = client?.ToString() ?? "unknown";

        target.Headers.TryAddWithoutValidation(XForwardedFor, Append(headers[XForwardedFor], clientText));
        target.Headers.TryAddWithoutValidation(XForwardedProto, "https");
        if (!string.IsNullOrEmpty(host))
        {
            target.Headers.TryAddWithoutValidation(XForwardedHost, host);
        }

        target.Headers.TryAddWithoutValidation(Forwarded, Append(headers[Forwarded], ForwardedElement(client, host)));
    }

    /// <summary>One RFC 7239 element: <c>for=…;proto=https;host=…</c>, an IPv6 address bracketed and quoted, a host quoted when it is not a token.</summary>
    public static string ForwardedElement(IPAddress? client, string? host)
    {
        var element = new StringBuilder("for=", 64);
        if (client is null)
        {
            element.Append("unknown");
        }
        else if (client.AddressFamily == AddressFamily.InterNetworkV6)
        {
            element.Append("\"[").Append(client).Append("]\"");
        }
        else
        {
            element.Append(client);
        }

        element.Append(";proto=https");
        if (!string.IsNullOrEmpty(host))
        {
            element.Append(";host=");
            AppendValue(element, host);
        }

        return element.ToString();
    }

    private static string Append(StringValues existing, string value) =>
        StringValues.IsNullOrEmpty(existing) ? value
        : existing.Count == 1 ? string.Concat(existing[0], ", ", value)
        : string.Join(", ", [.. existing, value]);

    // RFC 7239 §4: a value is a token or a quoted-string; a host with a port (':') or an IPv6 literal needs the quotes.
    private static void AppendValue(StringBuilder element, string value)
    {
        if (IsToken(value))
        {
            element.Append(value);
            return;
        }

        element.Append('"');
        foreach (var character in value)
        {
            if (character is '"' or '\\')
            {
                element.Append('\\');
            }

            element.Append(character);
        }

        element.Append('"');
    }

    private static bool IsToken(string value)
    {
        foreach (var character in value)
        {
            if (!(char.IsAsciiLetterOrDigit(character) || "!#$%&'*+-.^_`|~".Contains(character, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return value.Length > 0;
    }
}

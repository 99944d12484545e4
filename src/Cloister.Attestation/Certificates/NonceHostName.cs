using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// The server name with which a client asks an attested server for a fresh document: <c>&lt;base64 nonce&gt;.attest.&lt;host&gt;</c>.
/// The server answers such a handshake with a new certificate whose document carries that nonce.
/// </summary>
/// <remarks>
/// The nonce is one DNS label, so at most 63 base64 characters: 47 bytes. Clients write URL-safe base64 without padding,
/// whose characters survive in a server name; servers also accept the standard alphabet and padding, as other clients send.
/// </remarks>
public static class NonceHostName
{
    /// <summary>The longest nonce that fits one label (63 characters of unpadded base64).</summary>
    public const int MaxNonceLength = 47;

    /// <summary>The label between the nonce and the host.</summary>
    public const string Marker = "attest";

    /// <summary>Writes the server name that asks for <paramref name="nonce"/>.</summary>
    /// <param name="nonce">The nonce, 1 to <see cref="MaxNonceLength"/> bytes.</param>
    /// <param name="host">The host the client connects to; an IPv6 literal (bracketed or not) is written with '-' for ':'.</param>
    /// <returns><c>&lt;base64url nonce&gt;.attest.&lt;host&gt;</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The nonce is empty or too long, or the host is empty.</exception>
    public static string Format(ReadOnlySpan<byte> nonce, string host)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (nonce.IsEmpty || nonce.Length > MaxNonceLength)
        {
            throw new ArgumentException($"a nonce in a server name is 1 to {MaxNonceLength} bytes, not {nonce.Length}", nameof(nonce));
        }

        // A server name has no ':' (RFC 6066 §3), so an IPv6 literal is written the way ipv6-literal.net names are, '-'
        // for ':'; servers read only the nonce.
        var name = host.Contains(':', StringComparison.Ordinal) ? host.Trim('[', ']').Replace(':', '-') : host;
        return $"{Base64Url.EncodeToString(nonce)}.{Marker}.{name}";
    }

    /// <summary>Reads a server name written by <see cref="Format"/> (or another client of the scheme).</summary>
    /// <param name="serverName">The SNI the client sent; may be <see langword="null"/> (no SNI).</param>
    /// <param name="nonce">The nonce asked for.</param>
    /// <param name="host">The rest of the name, after <c>.attest.</c>.</param>
    /// <returns>Whether the name asks for a nonce; <see langword="false"/> for every other name and for a label that is not base64.</returns>
    public static bool TryParse(string? serverName, [NotNullWhen(true)] out byte[]? nonce, [NotNullWhen(true)] out string? host)
    {
        nonce = null;
        host = null;
        var name = serverName.AsSpan();
        var labelEnd = name.IndexOf('.');
        if (labelEnd <= 0 || !name[(labelEnd + 1)..].StartsWith(Marker + ".", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = name[(labelEnd + Marker.Length + 2)..];
        if (rest.IsEmpty || !TryDecode(name[..labelEnd], out var decoded))
        {
            return false;
        }

        nonce = decoded;
        host = rest.ToString();
        return true;
    }

    private static bool TryDecode(ReadOnlySpan<char> label, [NotNullWhen(true)] out byte[]? nonce)
    {
        nonce = null;
        var unpadded = label.TrimEnd('=');
        if (unpadded.Length > 64 || unpadded.Length % 4 == 1)
        {
            return false;
        }

        Span<char> standard = stackalloc char[(unpadded.Length + 3) / 4 * 4];
        for (var i = 0; i < unpadded.Length; i++)
        {
            standard[i] = unpadded[i] switch { '-' => '+', '_' => '/', var c => c };
        }

        standard[unpadded.Length..].Fill('=');
        Span<byte> bytes = stackalloc byte[MaxNonceLength + 1];
        if (!Convert.TryFromBase64Chars(standard, bytes, out var written) || written is 0 or > MaxNonceLength)
        {
            return false;
        }

        nonce = bytes[..written].ToArray();
        return true;
    }
}

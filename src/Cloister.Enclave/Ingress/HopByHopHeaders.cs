using System.Collections.Frozen;
using Microsoft.Extensions.Primitives;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The headers that describe one connection rather than the message (RFC 9110 §7.6.1), which a proxy must not pass on,
/// plus any header a <c>Connection</c> header names.
/// </summary>
internal static class HopByHopHeaders
{
    private static readonly FrozenSet<string> s_names = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade");

    /// <summary>Whether <paramref name="name"/> is hop-by-hop, by name or because <paramref name="connection"/> (the message's Connection header) lists it.</summary>
    public static bool Contains(string name, StringValues connection)
    {
        if (s_names.Contains(name))
        {
            return true;
        }

        // Almost every message has no Connection header or only "keep-alive"/"close", so this loop rarely runs.
        foreach (var value in connection)
        {
            foreach (var range in value.AsSpan().Split(','))
            {
                if (value.AsSpan()[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

using System.Net;
using System.Net.Sockets;

namespace Cloister.Testing;

/// <summary>A port on 127.0.0.1 where a client stalls: at the TLS handshake, or already at the TCP connect. Linked into the CLI tests as well.</summary>
internal sealed class StalledListener : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket? _filler;

    private StalledListener(bool full)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(full ? 0 : 16);
        if (full)
        {
            // A backlog of 0 holds one connection; Linux drops the SYNs of any further one, which retries until it gives up.
            _filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _filler.Connect(_listener.LocalEndPoint!);
        }
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Accepts connections (the kernel completes them into the backlog) and never says a word: a TLS client waits for the ServerHello.</summary>
    public static StalledListener Silent() => new(full: false);

    /// <summary>A full backlog: a TCP connect never completes.</summary>
    public static StalledListener Full() => new(full: true);

    public void Dispose()
    {
        _filler?.Dispose();
        _listener.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;

namespace Cloister.Testing;

/// <summary>A connected TCP connection on 127.0.0.1, both ends: what a client holds and what a server accepted.</summary>
internal sealed class LoopbackTcpPair : IDisposable
{
    private Socket? _client;

    private LoopbackTcpPair(Socket client, Socket server)
    {
        _client = client;
        Server = server;
    }

    /// <summary>The client's end.</summary>
    public Socket Client => _client ?? throw new InvalidOperationException("the client's end was taken");

    /// <summary>The end the server accepted.</summary>
    public Socket Server { get; }

    public static async Task<LoopbackTcpPair> OpenAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(listener.LocalEndPoint!);
            return new LoopbackTcpPair(client, await listener.AcceptAsync());
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The client's end as a stream that owns it; disposing the pair no longer closes it.</summary>
    public NetworkStream TakeClientStream()
    {
        var stream = new NetworkStream(Client, ownsSocket: true);
        _client = null;
        return stream;
    }

    public void Dispose()
    {
        _client?.Dispose();
        Server.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;
using Cloister.Runtime.Relay;

namespace Cloister.Benchmarks.Relay;

/// <summary>
/// One relay as the host's egress forwarder and ingress relay run it: a TCP connection on one side, a Unix socket (the
/// simulator's vsock) on the other. The benchmark holds <see cref="Tcp"/> and <see cref="Unix"/>; the relay joins the
/// ends between them.
/// </summary>
internal sealed class RelayRig : IAsyncDisposable
{
    private readonly Socket _tcpRelay;
    private readonly Socket _unixRelay;

    private RelayRig(Socket tcp, Socket tcpRelay, Socket unix, Socket unixRelay)
    {
        Tcp = tcp;
        _tcpRelay = tcpRelay;
        Unix = unix;
        _unixRelay = unixRelay;
    }

    public Socket Tcp { get; }

    public Socket Unix { get; }

    public Task<RelayResult>? Relaying { get; private set; }

    /// <summary>Opens the connections of <paramref name="count"/> relays through one TCP and one Unix listener; <see cref="Start"/> starts each relay.</summary>
    public static async Task<RelayRig[]> OpenAsync(int count, string directory)
    {
        using var tcpListener = Listen(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), new IPEndPoint(IPAddress.Loopback, 0));
        using var unixListener = Listen(UnixSocket(), new UnixDomainSocketEndPoint(Path.Combine(directory, $"relay-{Guid.NewGuid():N}.sock")));
        var rigs = new RelayRig[count];
        for (var i = 0; i < count; i++)
        {
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await tcp.ConnectAsync(tcpListener.LocalEndPoint!);
            var tcpRelay = await tcpListener.AcceptAsync();
            tcpRelay.NoDelay = true;
            var unix = UnixSocket();
            await unix.ConnectAsync(unixListener.LocalEndPoint!);
            rigs[i] = new RelayRig(tcp, tcpRelay, unix, await unixListener.AcceptAsync());
        }

        return rigs;
    }

    public void Start() => Relaying = DuplexRelay.RunAsync(RelayEnd.ForSocket(_tcpRelay), RelayEnd.ForSocket(_unixRelay), CancellationToken.None);

    public static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0)
            {
                throw new EndOfStreamException("the relay closed early");
            }

            buffer = buffer[read..];
        }
    }

    public async ValueTask DisposeAsync()
    {
        Tcp.Shutdown(SocketShutdown.Send);
        Unix.Shutdown(SocketShutdown.Send);
        if (Relaying is not null)
        {
            await Relaying;
        }

        foreach (var socket in new[] { Tcp, _tcpRelay, Unix, _unixRelay })
        {
            socket.Dispose();
        }
    }

    private static Socket UnixSocket() => new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    private static Socket Listen(Socket socket, EndPoint endpoint)
    {
        socket.Bind(endpoint);
        socket.Listen(1024);
        return socket;
    }
}

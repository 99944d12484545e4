using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Cloister.Testing;

/// <summary>
/// A TCP listener on 127.0.0.1 that hands each accepted socket to a server of the tests' own (a fake IMDS, a small
/// HTTPS endpoint), and on disposal stops accepting and waits for every connection it handed out to be served.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Func<Socket, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;

    /// <summary>Listens on a free port and serves each connection with <paramref name="serve"/>, which owns the socket.</summary>
    public LoopbackServer(Func<Socket, Task> serve)
    {
        _serve = serve;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Cancelled when disposal begins: connections in progress end their reads and writes.</summary>
    public CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        await Task.WhenAll(_connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _connections.Add(Task.Run(() => _serve(socket)));
        }
    }
}

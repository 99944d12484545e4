using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>
/// An app that answers in chunks with trailers, as Kestrel cannot over HTTP/1.1: a socket speaking HTTP/1.1 by hand.
/// <c>/whole</c> sends its answer in one write; <c>/stream</c> sends its headers and <see cref="EchoApp.FirstPart"/>, and
/// the rest with the trailers only once the test opens <see cref="ResponseGate"/>, so a proxy that waited for the whole
/// body would never finish.
/// </summary>
internal sealed class ChunkedTrailerApp : IAsyncDisposable
{
    public const string SecondPart = "second part";
    public const string Checksum = "sha256=abc123";

    private const string Head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Count\r\n\r\n";
    private const string Tail = "0\r\nX-Checksum: " + Checksum + "\r\nX-Count: 2\r\nX-Count: 3\r\n\r\n";

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Task _serving;

    private ChunkedTrailerApp()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        _serving = ServeAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public TaskCompletionSource ResponseGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static ChunkedTrailerApp Start() => new();

    public async ValueTask DisposeAsync()
    {
        ResponseGate.TrySetResult();
        _listener.Dispose();
        await _serving;
    }

    private static string Chunk(string text) => $"{Encoding.ASCII.GetByteCount(text):x}\r\n{text}\r\n";

    private async Task ServeAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                connections.Add(AnswerAsync(await _listener.AcceptAsync()));
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            await Task.WhenAll(connections);
        }
    }

    // Requests without bodies, one after another on the connection, until the proxy closes it.
    private async Task AnswerAsync(Socket socket)
    {
        using var connection = socket;
        await using var stream = new NetworkStream(connection);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int end;
                while ((end = received.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }

                    received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                var target = received.ToString().Split(' ')[1];
                received.Remove(0, end + 4);
                if (target == "/stream")
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(Head + Chunk(EchoApp.FirstPart)));
                    await ResponseGate.Task;
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(Chunk(SecondPart) + Tail));
                }
                else
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(Head + Chunk(EchoApp.FirstPart) + Chunk(SecondPart) + Tail));
                }
            }
        }
        catch (IOException)
        {
            // The proxy went away mid-answer.
        }
    }
}

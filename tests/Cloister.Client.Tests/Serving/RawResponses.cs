using System.Text;

namespace Cloister.Testing;

/// <summary>Answers for <see cref="TestTlsServer.RespondRaw"/> that misbehave in one way each. Linked into the CLI tests as well.</summary>
internal static class RawResponses
{
    /// <summary>The size of each chunk <see cref="Endless"/> writes.</summary>
    public const int ChunkLength = 16 * 1024;

    /// <summary>Reads the request and never answers it.</summary>
    public static Task Silent(string target, Stream tls, CancellationToken stop) => Task.Delay(Timeout.Infinite, stop);

    /// <summary>Sends the headers and <paramref name="bodyStart"/> of a chunked body, then stalls forever.</summary>
    public static Func<string, Stream, CancellationToken, Task> StallingBody(string bodyStart) => async (_, tls, stop) =>
    {
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"{ChunkedHead}{bodyStart.Length:x}\r\n{bodyStart}\r\n"), stop);
        await Task.Delay(Timeout.Infinite, stop);
    };

    /// <summary>A 200 whose chunked body of 'x' never ends (until the client hangs up or the server stops).</summary>
    public static async Task Endless(string target, Stream tls, CancellationToken stop)
    {
        var chunk = Encoding.ASCII.GetBytes($"{ChunkLength:x}\r\n{new string('x', ChunkLength)}\r\n");
        await tls.WriteAsync(Encoding.ASCII.GetBytes(ChunkedHead), stop);
        while (true)
        {
            await tls.WriteAsync(chunk, stop);
        }
    }

    /// <summary>A 200 whose header section never ends.</summary>
    public static async Task EndlessHeaders(string target, Stream tls, CancellationToken stop)
    {
        var header = Encoding.ASCII.GetBytes($"X-Filler: {new string('h', 1000)}\r\n");
        await tls.WriteAsync("HTTP/1.1 200 OK\r\n"u8.ToArray(), stop);
        while (true)
        {
            await tls.WriteAsync(header, stop);
        }
    }

    private const string ChunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
}

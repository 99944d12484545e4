using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Testing;

/// <summary>One HTTP/1.1 request as <see cref="MiniHttpsServer"/> received it, with the client certificate the TLS handshake carried.</summary>
internal sealed record MiniHttpRequest(string Method, string Path, byte[] Body, X509Certificate2? ClientCertificate)
{
    /// <summary>The header fields in the order they came, names as sent, values trimmed.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}

/// <summary>
/// A real HTTPS endpoint on 127.0.0.1 for tests that speak to a provisioner: TLS with the given certificate (a client
/// certificate requested, never required, when asked), one request per connection, answered by the test's handler and
/// closed. Small enough to read in one sitting, strict enough that HttpClient talks to it as to any server.
/// </summary>
internal sealed class MiniHttpsServer : IAsyncDisposable
{
    private const int MaxHeaderLength = 16 << 10;

    private readonly LoopbackServer _server;
    private readonly X509Certificate2 _certificate;
    private readonly Func<MiniHttpRequest, (int Status, byte[] Body)> _handle;
    private readonly bool _requestClientCertificate;

    public MiniHttpsServer(X509Certificate2 certificate, Func<MiniHttpRequest, (int Status, byte[] Body)> handle, bool requestClientCertificate = false)
    {
        _certificate = certificate;
        _handle = handle;
        _requestClientCertificate = requestClientCertificate;
        _server = new LoopbackServer(ServeAsync);
    }

    public int Port => _server.Port;

    /// <summary>The server's URL under the name <c>localhost</c>.</summary>
    public Uri Url => new($"https://localhost:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>Every request that arrived whole, in order.</summary>
    public ConcurrentQueue<MiniHttpRequest> Requests { get; } = new();

    /// <summary>Opens a plain TCP connection to the server, as the host's relay does for the enclave.</summary>
    public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), cancellationToken);
        return new NetworkStream(socket, ownsSocket: true);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(Socket socket)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    ServerCertificate = _certificate,
                    ClientCertificateRequired = _requestClientCertificate,
                    // The handler decides what a client certificate is worth, as the provisioner's APIs do.
#pragma warning disable CA5359 // This validates client certificates, not a server's; the handler checks them.
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
                },
                _server.Stopping);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            // The client refused the server (or gave up): there is no request to record.
            return;
        }

        try
        {
            var request = await ReadRequestAsync(tls);
            if (request is null)
            {
                return;
            }

            Requests.Enqueue(request);
            var (status, body) = _handle(request);
            var head = Encoding.ASCII.GetBytes(string.Create(
                CultureInfo.InvariantCulture,
                $"HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await tls.WriteAsync(head, _server.Stopping);
            await tls.WriteAsync(body, _server.Stopping);
            await tls.FlushAsync(_server.Stopping);
            await tls.ShutdownAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away; the test sees what it got.
        }
    }

    private async Task<MiniHttpRequest?> ReadRequestAsync(SslStream tls)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), "\r\n\r\n"u8)) < 0)
        {
            var read = await tls.ReadAsync(chunk, _server.Stopping);
            if (read == 0 || buffer.Length > MaxHeaderLength)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        var all = buffer.ToArray();
        var lines = Encoding.ASCII.GetString(all, 0, headerEnd).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var length = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && parts[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(parts => int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture))
            .FirstOrDefault();
        var body = new MemoryStream();
        body.Write(all, headerEnd + 4, all.Length - headerEnd - 4);
        while (body.Length < length)
        {
            var read = await tls.ReadAsync(chunk, _server.Stopping);
            if (read == 0)
            {
                return null;
            }

            body.Write(chunk, 0, read);
        }

        var client = tls.RemoteCertificate is { } remote ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()) : null;
        return new MiniHttpRequest(requestLine[0], requestLine[1], body.ToArray(), client)
        {
            Headers = [.. lines.Skip(1).Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2).Select(parts => new KeyValuePair<string, string>(parts[0], parts[1].Trim()))],
        };
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Testing;

/// <summary>
/// A real TLS server on 127.0.0.1 for attested-TLS tests: it picks its certificate per connection from the server name
/// the client sent (SNI), records every name and every request it receives, and answers HTTP/1.1 requests (keep-alive)
/// with <c>200 hello &lt;path&gt;</c>, or what <see cref="Respond"/> returns, or whatever <see cref="RespondRaw"/>
/// writes (see <see cref="RawResponses"/>). Linked into the CLI tests as well.
/// </summary>
internal sealed class TestTlsServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, (X509Certificate2 Certificate, X509Certificate2[] Chain)> _select;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _serverNames = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    /// <summary>Serves <paramref name="select"/>(server name, empty when none was sent) with the chain certificates it names.</summary>
    public TestTlsServer(Func<string, (X509Certificate2 Certificate, X509Certificate2[] Chain)> select)
    {
        _select = select;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Serves the same certificate to every connection.</summary>
    public TestTlsServer(X509Certificate2 certificate)
        : this(_ => (certificate, []))
    {
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The server name of every handshake, in order: how many handshakes there were.</summary>
    public IReadOnlyCollection<string> ServerNames => _serverNames;

    /// <summary>The request head (request line and headers) of every request that arrived over TLS.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Answers a request: (request target, server name) → (status, content type, body); null for the default.</summary>
    public Func<string, string, (int Status, string ContentType, string Body)?>? Respond { get; set; }

    /// <summary>Answers a request by writing raw bytes: (request target, TLS stream, stop token); takes precedence over <see cref="Respond"/>.</summary>
    public Func<string, Stream, CancellationToken, Task>? RespondRaw { get; set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        await using var tls = new SslStream(client.GetStream());
        try
        {
            await tls.AuthenticateAsServerAsync(
                (_, hello, _, _) =>
                {
                    _serverNames.Enqueue(hello.ServerName);
                    var (certificate, chain) = _select(hello.ServerName);
                    return ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = SslStreamCertificateContext.Create(certificate, [.. chain], offline: true),
                    });
                },
                null,
                _stop.Token);
            var buffer = new byte[16384];
            var pending = new StringBuilder();
            while (true)
            {
                var read = await tls.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
                int end;
                while ((end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
                {
                    var head = pending.ToString(0, end);
                    pending.Remove(0, end + 4);
                    _requests.Enqueue(head);
                    if (RespondRaw is { } raw)
                    {
                        await raw(head.Split(' ')[1], tls, _stop.Token);
                    }
                    else
                    {
                        await tls.WriteAsync(Answer(head, tls.TargetHostName), _stop.Token);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // The client refused us, hung up or the test ended: all expected here.
        }
    }

    private byte[] Answer(string head, string serverName)
    {
        var target = head.Split(' ')[1];
        var (status, contentType, body) = Respond?.Invoke(target, serverName) ?? (200, "text/plain", $"hello {target}");
        var content = Encoding.UTF8.GetBytes(body);
        return [.. Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\n\r\n"), .. content];
    }
}

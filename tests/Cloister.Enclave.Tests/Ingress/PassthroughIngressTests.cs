using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Cloister.Enclave.Ingress;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>Passthrough ingress in process: connections handed over by the simulated host, piped to a TCP app.</summary>
public sealed class PassthroughIngressTests
{
    private const uint EnclaveCid = 16;
    private const int Port = 8080;

    [Fact]
    public async Task Hundreds_of_connections_reset_by_their_clients_cost_one_line_and_one_report_with_a_count()
    {
        const int resets = 200;
        var directory = Directory.CreateTempSubdirectory("cloister-passthrough-").FullName;
        try
        {
            Directory.CreateDirectory(VsockTransport.GetSimulatedSocketDirectory(directory));
            using var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            app.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            app.Listen(resets);
            var appClosed = 0;
            var serving = ServeUntilClosedAsync(app, () => Interlocked.Increment(ref appClosed));
            var time = new FakeTimeProvider();
            var logs = new ConcurrentQueue<string>();
            var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = directory, LocalCid = EnclaveCid });
            var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = directory, LocalCid = VsockEndpoint.HostCid });
            var settings = new IngressPort { Port = Port, AppPort = ((IPEndPoint)app.LocalEndPoint!).Port, Tls = IngressTls.Passthrough };
            var ingress = await PassthroughIngress.StartAsync(enclave, [settings], line => { logs.Enqueue(line); return Task.CompletedTask; }, time);
            await using (ingress)
            {
                for (var i = 0; i < resets; i++)
                {
                    await using var client = await HandedOverConnection.OpenAsync(host, new VsockEndpoint(EnclaveCid, Port), ProxyHeaderFor(i));
                    await client.WriteAsync("GET / HTTP/1.1\r\n"u8.ToArray());
                    // Closing with a zero linger time sends a reset instead of a FIN.
                    client.Socket.LingerState = new LingerOption(enable: true, seconds: 0);
                }

                // The enclave closes its side of the app's connection after it has logged the broken one. Not every reset
                // is seen as one (the kernel reports a reset once, and a relay may read it as an end), but many are.
                await IngressHarness.WaitUntilAsync(() => Volatile.Read(ref appClosed) == resets, "every piped connection to end");
                var line = Assert.Single(logs);
                Assert.StartsWith($"ingress {Port} -> 127.0.0.1:{settings.AppPort}: the connection broke (", line, StringComparison.Ordinal);

                time.Advance(TimeSpan.FromSeconds(10));
                Assert.Equal(2, logs.Count);
                Assert.Matches(@"^ingress \d+ -> 127\.0\.0\.1:\d+: the connection broke \(.*\) … and \d+ more like it in the last 10 s$", logs.Last());
                time.Advance(TimeSpan.FromSeconds(10));
                Assert.Equal(2, logs.Count);
            }

            app.Dispose();
            await serving;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static byte[] ProxyHeaderFor(int client)
    {
        var header = new byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(new ProxyHeader(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000 + client), new IPEndPoint(IPAddress.Parse("10.0.0.1"), Port)), header);
        return header[..length];
    }

    // Accepts until the listener is closed; each connection is read until it ends, then counted.
    private static async Task ServeUntilClosedAsync(Socket listener, Action closed)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync();
                connections.Add(Task.Run(async () =>
                {
                    using (connection)
                    {
                        var buffer = new byte[1024];
                        try
                        {
                            while (await connection.ReceiveAsync(buffer) > 0)
                            {
                            }
                        }
                        catch (SocketException)
                        {
                        }
                    }

                    closed();
                }));
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            await Task.WhenAll(connections);
        }
    }
}

using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Cloister.Host.Ingress;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Vsock;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Host.Tests.Ingress;

public sealed class IngressForwarderTests
{
    [Fact]
    public void A_taken_port_fails_at_once_and_names_the_publish_option()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var endpoint = (IPEndPoint)taken.LocalEndpoint;
        var transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = "/nonexistent", LocalCid = VsockEndpoint.HostCid });

        var error = Assert.Throws<IOException>(() => IngressForwarder.Listen(endpoint, transport, 443));
        Assert.Contains($"cannot listen on {endpoint}", error.Message, StringComparison.Ordinal);
        Assert.Contains("--publish HOSTPORT:443", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forwarder_disposed_before_its_run_is_cancelled_ends_the_run_quietly()
    {
        var transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = "/nonexistent", LocalCid = VsockEndpoint.HostCid });
        var forwarder = IngressForwarder.Listen(new IPEndPoint(IPAddress.Loopback, 0), transport, 80);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(16, stop.Token);

        // Nothing is cancelled: the run must end because the forwarder was disposed, not because of the token.
        await forwarder.DisposeAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_the_enclave_does_not_answer_is_closed_and_reported(bool relay)
    {
        var runDirectory = Directory.CreateTempSubdirectory("cloister-ingress-").FullName;
        try
        {
            var transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });
            var reported = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var forwarder = IngressForwarder.Listen(new IPEndPoint(IPAddress.Loopback, 0), transport, 80, relay, message => reported.TrySetResult(message));
            using var stop = new CancellationTokenSource();
            var running = forwarder.RunAsync(16, stop.Token);

            using var client = new TcpClient();
            await client.ConnectAsync(forwarder.LocalEndpoint);
            var buffer = new byte[1];
            // Nobody listens on vsock 16:80: the host closes the client's connection instead of leaving it hanging.
            Assert.Equal(0, await client.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("vsock 16:80", await reported.Task.WaitAsync(TimeSpan.FromSeconds(30)), StringComparison.Ordinal);

            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_vsock_connection_starts_with_a_proxy_header_naming_the_client_then_carries_its_bytes_untouched(bool relay)
    {
        var runDirectory = Directory.CreateTempSubdirectory("cloister-ingress-").FullName;
        try
        {
            Directory.CreateDirectory(VsockTransport.GetSimulatedSocketDirectory(runDirectory));
            var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });
            var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = 16 });
            await using var listener = await enclave.ListenAsync(80);
            await using var forwarder = IngressForwarder.Listen(new IPEndPoint(IPAddress.Loopback, 0), host, 80, relay);
            using var stop = new CancellationTokenSource();
            var running = forwarder.RunAsync(16, stop.Token);

            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(forwarder.LocalEndpoint);
            await client.GetStream().WriteAsync("\r\n\r\nclient bytes"u8.ToArray());
            client.Client.Shutdown(SocketShutdown.Send);
            await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            var reader = PipeReader.Create(accepted);

            var header = await ProxyProtocol.ReadAsync(reader, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            using var rest = new MemoryStream();
            await reader.CopyToAsync(rest).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(new ProxyHeader((IPEndPoint)client.Client.LocalEndPoint!, forwarder.LocalEndpoint), header);
            Assert.Equal("\r\n\r\nclient bytes"u8.ToArray(), rest.ToArray());
            // Handed over, the enclave holds the client's own TCP connection; relayed, the host's Unix socket.
            Assert.Equal(!relay, forwarder.HandsOver);
            Assert.Equal(relay ? AddressFamily.Unix : AddressFamily.InterNetwork, accepted.Socket.AddressFamily);
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_port_that_takes_no_hand_overs_gets_its_connections_relayed()
    {
        var runDirectory = Directory.CreateTempSubdirectory("cloister-ingress-").FullName;
        try
        {
            // An enclave speaking the Unix-socket simulation itself: a plain stream listener, no hand-over socket beside it.
            var path = VsockTransport.GetSimulatedSocketPath(runDirectory, new VsockEndpoint(16, 80));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var bare = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            bare.Bind(new UnixDomainSocketEndPoint(path));
            bare.Listen();
            var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });
            await using var forwarder = IngressForwarder.Listen(new IPEndPoint(IPAddress.Loopback, 0), host, 80);
            using var stop = new CancellationTokenSource();
            var running = forwarder.RunAsync(16, stop.Token);

            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(forwarder.LocalEndpoint);
            await client.GetStream().WriteAsync("client bytes"u8.ToArray());
            client.Client.Shutdown(SocketShutdown.Send);
            using var accepted = await bare.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var reader = PipeReader.Create(new NetworkStream(accepted));
            var header = await ProxyProtocol.ReadAsync(reader, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            using var rest = new MemoryStream();
            await reader.CopyToAsync(rest).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.True(forwarder.HandsOver);
            Assert.Equal(forwarder.LocalEndpoint, header.Destination);
            Assert.Equal("client bytes"u8.ToArray(), rest.ToArray());
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Hundreds_of_relayed_connections_reset_by_their_clients_cost_one_line_and_one_report_with_a_count()
    {
        const int resets = 200;
        var runDirectory = Directory.CreateTempSubdirectory("cloister-ingress-").FullName;
        try
        {
            Directory.CreateDirectory(VsockTransport.GetSimulatedSocketDirectory(runDirectory));
            var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });
            var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = 16 });
            await using var listener = await enclave.ListenAsync(80);
            var time = new FakeTimeProvider();
            var reported = new List<string>();
            var forwarder = IngressForwarder.Listen(new IPEndPoint(IPAddress.Loopback, 0), host, 80, relay: true, line => { lock (reported) { reported.Add(line); } }, time);
            using var stop = new CancellationTokenSource();
            var running = forwarder.RunAsync(16, stop.Token);

            for (var i = 0; i < resets; i++)
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(forwarder.LocalEndpoint);
                await client.SendAsync("client bytes"u8.ToArray());
                await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                // Closing with a zero linger time sends a reset instead of a FIN.
                client.LingerState = new LingerOption(enable: true, seconds: 0);
                client.Close();
                // The host closes its vsock connection once it has reported the broken one.
                await accepted.CopyToAsync(Stream.Null).WaitAsync(TimeSpan.FromSeconds(30));
            }

            string[] lines;
            lock (reported)
            {
                lines = [.. reported];
            }

            Assert.Single(lines);
            Assert.Contains("vsock 16:80: the connection broke (", lines[0], StringComparison.Ordinal);
            await forwarder.DisposeAsync();
            Assert.Equal(2, reported.Count);
            // Not every reset is seen as one (the kernel reports a reset once, and a relay may read it as an end), but many are.
            Assert.Matches(@"^ingress 127\.0\.0\.1:\d+ → vsock 16:80: the connection broke \(.*\) … and \d+ more like it in the last 10 s$", reported[1]);
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }
}

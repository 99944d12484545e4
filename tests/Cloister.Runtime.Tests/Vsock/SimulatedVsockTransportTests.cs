using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Runtime.Tests.Vsock;

public sealed class SimulatedVsockTransportTests : IDisposable
{
    private const uint EnclaveCid = 16;
    private readonly TempRunDirectory _run = new();
    private readonly VsockTransport _host;
    private readonly VsockTransport _enclave;

    public SimulatedVsockTransportTests()
    {
        _host = Simulated(VsockEndpoint.HostCid);
        _enclave = Simulated(EnclaveCid);
    }

    public void Dispose() => _run.Dispose();

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Listening_creates_the_cid_port_socket_file_owner_only()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.StatusPort);

        var path = Path.Combine(_run.Path, "vsock", "3_7000.sock");
        Assert.Equal(path, VsockTransport.GetSimulatedSocketPath(_run.Path, listener.LocalEndpoint));
        Assert.Equal(new VsockEndpoint(3, 7000), listener.LocalEndpoint);
        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public async Task Any_cid_listens_on_the_local_cid()
    {
        await using var listener = await _enclave.ListenAsync(new VsockEndpoint(VsockEndpoint.AnyCid, 443));

        Assert.Equal(new VsockEndpoint(EnclaveCid, 443), listener.LocalEndpoint);
    }

    [Fact]
    public async Task Data_flows_both_ways_and_half_close_keeps_the_other_direction_open()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.EgressPort);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await _enclave.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.EgressPort));
        await using var server = await accepting;
        Assert.Equal(new VsockEndpoint(3, 7002), client.RemoteEndpoint);
        Assert.Null(server.RemoteEndpoint);

        await client.WriteAsync("request"u8.ToArray());
        client.CompleteWrites();
        var request = await ReadToEndAsync(server);
        await server.WriteAsync("response after the client's EOF"u8.ToArray());
        server.CompleteWrites();
        var response = await ReadToEndAsync(client);

        Assert.Equal("request", request);
        Assert.Equal("response after the client's EOF", response);
    }

    [Fact]
    public async Task Many_concurrent_connections_each_get_their_own_echo()
    {
        const int connections = 64;
        await using var listener = await _host.ListenAsync(VsockEndpoint.LogsPort);
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (var i = 0; i < connections; i++)
            {
                var stream = await listener.AcceptAsync(stop.Token);
                echoes.Add(Task.Run(async () =>
                {
                    await using (stream)
                    {
                        await stream.CopyToAsync(stream);
                        stream.CompleteWrites();
                    }
                }));
            }

            await Task.WhenAll(echoes);
        });

        var clients = Enumerable.Range(0, connections).Select(async i =>
        {
            await using var stream = await _enclave.ConnectAsync(listener.LocalEndpoint);
            var payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"connection {i};", 1000)));
            var writing = Task.Run(async () =>
            {
                await stream.WriteAsync(payload);
                stream.CompleteWrites();
            });
            var echoed = await ReadToEndAsync(stream);
            await writing;
            return echoed == Encoding.ASCII.GetString(payload);
        });

        Assert.All(await Task.WhenAll(clients), Assert.True);
        await serving;
    }

    [Fact]
    public async Task Cancelling_a_pending_accept_leaves_the_listener_usable()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.ProvisionerPort);
        using var cancel = new CancellationTokenSource();
        var pending = listener.AcceptAsync(cancel.Token).AsTask();
        Assert.False(pending.IsCompleted);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await _enclave.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        await client.WriteAsync(new byte[] { 42 });
        var buffer = new byte[1];
        Assert.Equal(1, await server.ReadAsync(buffer));
        Assert.Equal(42, buffer[0]);
    }

    [Fact]
    public async Task Cancelling_a_connect_throws_and_connects_nothing()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.StatusPort);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _enclave.ConnectAsync(listener.LocalEndpoint, cancel.Token).AsTask());
    }

    [Fact]
    public async Task Cancelling_a_pending_read_throws()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.StatusPort);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await _enclave.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        using var cancel = new CancellationTokenSource();
        var reading = server.ReadAsync(new byte[16], cancel.Token).AsTask();
        Assert.False(reading.IsCompleted);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }

    [Fact]
    public async Task Connecting_where_nobody_listens_names_the_address_and_file()
    {
        var ex = await Assert.ThrowsAsync<VsockConnectException>(() => _enclave.ConnectAsync(new VsockEndpoint(3, 7777)).AsTask());

        Assert.Equal(new VsockEndpoint(3, 7777), ex.Endpoint);
        Assert.Contains("nothing listens on vsock 3:7777", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3_7777.sock", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connecting_after_the_listener_is_disposed_fails_clearly()
    {
        var listener = await _host.ListenAsync(VsockEndpoint.StatusPort);
        await listener.DisposeAsync();

        await Assert.ThrowsAsync<VsockConnectException>(() => _enclave.ConnectAsync(listener.LocalEndpoint).AsTask());
        Assert.False(File.Exists(VsockTransport.GetSimulatedSocketPath(_run.Path, listener.LocalEndpoint)));
        Assert.False(File.Exists(HandOverPath(listener.LocalEndpoint)));
    }

    [Fact]
    public async Task A_handed_over_connection_reads_its_preamble_first_and_outlives_the_host_s_socket()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();
        var accepting = listener.AcceptAsync().AsTask();

        Assert.True(_host.CanHandOver);
        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, "PROXY"u8.ToArray());
        tcp.Server.Dispose();
        await using var server = await accepting;
        await tcp.Client.SendAsync("hello"u8.ToArray());
        tcp.Client.Shutdown(SocketShutdown.Send);

        Assert.Equal("PROXY", Encoding.ASCII.GetString(server.UnreadPreamble.Span));
        Assert.Equal("PROXYhello", await ReadToEndAsync(server));
        Assert.True(server.UnreadPreamble.IsEmpty);
        await server.WriteAsync("answer after the client's EOF"u8.ToArray());
        server.CompleteWrites();
        var answer = new MemoryStream();
        var buffer = new byte[64];
        int read;
        while ((read = await tcp.Client.ReceiveAsync(buffer)) > 0)
        {
            answer.Write(buffer, 0, read);
        }

        Assert.Equal("answer after the client's EOF", Encoding.ASCII.GetString(answer.ToArray()));
    }

    [Fact]
    public async Task A_zero_byte_read_completes_at_once_while_the_preamble_is_unread_and_takes_none_of_it()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();
        var accepting = listener.AcceptAsync().AsTask();
        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, "PROXY"u8.ToArray());
        await using var server = await accepting;

        // The client has sent nothing: only the preamble makes the stream readable, so asking the socket would wait forever.
        Assert.Equal(0, await server.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, server.Read([]));
        var buffer = new byte[16];
        Assert.Equal("PROXY", Encoding.ASCII.GetString(buffer, 0, await server.ReadAsync(buffer)));
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_bytes_and_leaves_them_to_the_next_read()
    {
        await using var listener = await _host.ListenAsync(VsockEndpoint.EgressPort);
        await using var client = await _enclave.ConnectAsync(listener.LocalEndpoint);
        await using var server = await listener.AcceptAsync();

        var readable = server.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(readable.IsCompleted);
        await client.WriteAsync("bytes"u8.ToArray());

        Assert.Equal(0, await readable);
        var buffer = new byte[16];
        Assert.Equal("bytes", Encoding.ASCII.GetString(buffer, 0, await server.ReadAsync(buffer)));
    }

    [Fact]
    public async Task One_listener_accepts_connected_and_handed_over_connections_alike()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();

        await using var connected = await _host.ConnectAsync(listener.LocalEndpoint);
        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, ReadOnlyMemory<byte>.Empty);
        await using var first = await listener.AcceptAsync();
        await using var second = await listener.AcceptAsync();

        var accepted = new[] { first, second };
        Assert.Single(accepted, stream => stream.Socket.AddressFamily == AddressFamily.Unix);
        Assert.Single(accepted, stream => stream.Socket.AddressFamily == AddressFamily.InterNetwork);
    }

    [Fact]
    public async Task A_handed_over_descriptor_is_close_on_exec_so_the_app_never_inherits_it()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();

        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, ReadOnlyMemory<byte>.Empty);
        await using var server = await listener.AcceptAsync();

        var fdinfo = await File.ReadAllLinesAsync($"/proc/self/fdinfo/{server.Socket.SafeHandle.DangerousGetHandle()}");
        var flags = Convert.ToInt32(fdinfo.Single(line => line.StartsWith("flags:", StringComparison.Ordinal))[6..].Trim(), 8);
        const int OCloexec = 0x80000;
        Assert.Equal(OCloexec, flags & OCloexec);
    }

    [Fact]
    public async Task A_datagram_without_a_descriptor_is_dropped_and_the_listener_keeps_accepting()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();
        using var forger = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

        await forger.SendToAsync("no descriptor"u8.ToArray(), new UnixDomainSocketEndPoint(HandOverPath(listener.LocalEndpoint)));
        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, "real"u8.ToArray());
        await using var server = await listener.AcceptAsync();

        Assert.Equal("real", Encoding.ASCII.GetString(server.UnreadPreamble.Span));
    }

    [Fact]
    public async Task Disposing_the_listener_closes_handed_over_connections_nobody_accepted()
    {
        var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();
        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, ReadOnlyMemory<byte>.Empty);
        tcp.Server.Dispose();

        await listener.DisposeAsync();

        // Closed, in order or by a reset (runs differ, as the descriptor was still queued or already taken when the listener
        // went); a connection left open would time the read out instead.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            Assert.Equal(0, await tcp.Client.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => listener.AcceptAsync().AsTask());
    }

    [Fact]
    public async Task Once_settled_the_queued_count_covers_every_connection_made_and_handed_over()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();
        var connected = new List<VsockStream>();
        for (var i = 0; i < 3; i++)
        {
            connected.Add(await _host.ConnectAsync(listener.LocalEndpoint));
        }

        await _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, ReadOnlyMemory<byte>.Empty);

        Assert.Equal(4, await SettleAsync(listener));
        for (var i = 0; i < 4; i++)
        {
            await using var accepted = await listener.AcceptAsync();
        }

        Assert.True(listener.TryCountQueued(out var queued));
        Assert.Equal(4, queued);
        foreach (var stream in connected)
        {
            await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_connection_waiting_for_room_in_the_full_queue_is_not_counted_as_queued()
    {
        // One more than the listener's queue holds: the last waits in the accept loop's hands or in the kernel's backlog.
        const int connections = 65;
        await using var listener = await _host.ListenAsync(VsockEndpoint.LogsPort);
        var connected = new List<VsockStream>();
        for (var i = 0; i < connections; i++)
        {
            connected.Add(await _enclave.ConnectAsync(listener.LocalEndpoint));
        }

        Assert.False(listener.TryCountQueued(out _));
        await using (await listener.AcceptAsync())
        {
        }

        Assert.Equal(connections, await SettleAsync(listener));
        foreach (var stream in connected)
        {
            await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_disposed_listener_cannot_count()
    {
        var listener = await _host.ListenAsync(VsockEndpoint.StatusPort);
        await listener.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => listener.TryCountQueued(out _));
    }

    [Fact]
    public async Task Handing_over_where_nobody_listens_names_the_address_and_file()
    {
        using var tcp = await LoopbackTcpPair.OpenAsync();

        var ex = await Assert.ThrowsAsync<VsockConnectException>(() => _host.HandOverAsync(new VsockEndpoint(EnclaveCid, 8080), tcp.Server, ReadOnlyMemory<byte>.Empty).AsTask());

        Assert.Equal(new VsockEndpoint(EnclaveCid, 8080), ex.Endpoint);
        Assert.Contains("16_8080.fd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_overlong_preamble_is_refused()
    {
        await using var listener = await _enclave.ListenAsync(8080);
        using var tcp = await LoopbackTcpPair.OpenAsync();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _host.HandOverAsync(listener.LocalEndpoint, tcp.Server, new byte[513]).AsTask());

        Assert.Contains("at most 512", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_native_transport_cannot_hand_over()
    {
        var native = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Native });
        using var tcp = await LoopbackTcpPair.OpenAsync();

        Assert.False(native.CanHandOver);
        await Assert.ThrowsAsync<NotSupportedException>(() => native.HandOverAsync(new VsockEndpoint(EnclaveCid, 8080), tcp.Server, ReadOnlyMemory<byte>.Empty).AsTask());
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced()
    {
        var path = VsockTransport.GetSimulatedSocketPath(_run.Path, new VsockEndpoint(3, 9000));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // A crashed listener leaves its socket inode behind: bind elsewhere, move the socket into place, then close it.
        var elsewhere = Path.Combine(_run.Path, "crashed.sock");
        using (var crashed = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            crashed.Bind(new UnixDomainSocketEndPoint(elsewhere));
            crashed.Listen();
            File.Move(elsewhere, path);
        }

        Assert.True(File.Exists(path));
        await using var listener = await _host.ListenAsync(VsockEndpoint.HeartbeatPort);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await _enclave.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
    }

    [Fact]
    public async Task A_live_listener_is_never_replaced()
    {
        await using var first = await _host.ListenAsync(VsockEndpoint.StatusPort);

        var ex = await Assert.ThrowsAsync<IOException>(() => _host.ListenAsync(VsockEndpoint.StatusPort).AsTask());

        Assert.Contains("another process is listening", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_overlong_socket_path_is_refused_with_the_limit()
    {
        var deep = Simulated(3, Path.Combine(_run.Path, new string('d', 100)));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => deep.ListenAsync(7000).AsTask());

        Assert.Contains("at most 107", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 3u)]
    [InlineData("/tmp/run", null)]
    [InlineData("/tmp/run", uint.MaxValue)]
    public void The_simulation_needs_a_run_directory_and_a_cid(string? runDirectory, uint? cid) =>
        Assert.Throws<ArgumentException>(() => VsockTransport.Create(new VsockTransportOptions
        {
            Kind = VsockTransportKind.Simulated,
            RunDirectory = runDirectory,
            LocalCid = cid,
        }));

    [Fact]
    public void The_native_transport_binds_any_cid_and_opens_nothing_until_asked() =>
        Assert.Equal(VsockEndpoint.AnyCid, VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Native }).LocalCid);

    private string HandOverPath(VsockEndpoint endpoint) =>
        Path.ChangeExtension(VsockTransport.GetSimulatedSocketPath(_run.Path, endpoint), ".fd");

    private VsockTransport Simulated(uint cid, string? runDirectory = null) => VsockTransport.Create(new VsockTransportOptions
    {
        Kind = VsockTransportKind.Simulated,
        RunDirectory = runDirectory ?? _run.Path,
        LocalCid = cid,
    });

    // Waits until every connection made so far is queued; a listener that has not settled in 30 s fails the test rather than hang it.
    private static async Task<long> SettleAsync(VsockListener listener)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long queued;
        while (!listener.TryCountQueued(out queued))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), patience.Token);
        }

        return queued;
    }

    private static async Task<string> ReadToEndAsync(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync();
    }
}

using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Cloister.Host.Egress;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Host.Tests.Egress;

public sealed class EgressForwarderTests : IAsyncLifetime, IDisposable
{
    private const uint EnclaveCid = 16;
    private readonly TempRunDirectory _run = new();
    private readonly TcpEchoServer _echo = new();
    private readonly ConcurrentQueue<EgressForwarderEvent> _log = new();
    private readonly CancellationTokenSource _stop = new();
    private VsockListener? _listener;
    private Task? _running;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_running is not null)
        {
            await _running;
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        await _echo.DisposeAsync();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task Relays_to_an_allowed_destination_both_ways_with_half_close()
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true });
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);

        await using var connection = await ConnectAsync();
        // The first payload bytes ride in the same write as the request line: the forwarder must not lose them.
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"127.0.0.1:{_echo.Port}\n").Concat(payload.Take(1000)).ToArray());
        var reader = PipeReader.Create(connection);
        Assert.True((await EgressResponse.ReadAsync(reader)).IsSuccess);
        var sending = Task.Run(async () =>
        {
            await connection.WriteAsync(payload.AsMemory(1000));
            connection.CompleteWrites();
        });
        var echoed = await ReadToEndAsync(reader);
        await sending;

        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
        await WaitForLogAsync(EgressForwarderOutcome.Closed);
        Assert.Contains(_log, e => e.Outcome == EgressForwarderOutcome.Connected && e.Detail == $"connected to 127.0.0.1:{_echo.Port}");
        Assert.Contains(_log, e => e.Outcome == EgressForwarderOutcome.Closed && e.Detail == $"{payload.Length} bytes forward, {payload.Length} bytes back");
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1 is loopback")]
    [InlineData("10.0.0.1", "10.0.0.1 is private (RFC 1918)")]
    [InlineData("169.254.169.254", "169.254.169.254 is link-local (169.254.0.0/16, where the instance metadata service lives)")]
    [InlineData("[::1]", "::1 is loopback")]
    [InlineData("[::ffff:127.0.0.1]", "127.0.0.1 is loopback")]
    public async Task Refuses_non_public_literals_without_connecting(string host, string reason)
    {
        await StartAsync(new EgressForwarderOptions());

        var answer = await RequestAsync($"{host}:{_echo.Port}");

        Assert.Equal($"refused: {reason} and this host does not allow private destinations", answer.Reason);
        Assert.Equal(0, _echo.Accepted);
        Assert.Contains(_log, e => e.Outcome == EgressForwarderOutcome.Refused);
    }

    [Fact]
    public async Task Refuses_a_name_when_any_of_its_addresses_is_private()
    {
        await StartAsync(new EgressForwarderOptions { Resolve = Resolver(("mixed.test", ["93.184.215.14", "10.9.8.7"])) });

        var answer = await RequestAsync("mixed.test:443");

        Assert.Equal("refused: mixed.test resolves to 10.9.8.7 is private (RFC 1918) and this host does not allow private destinations", answer.Reason);
    }

    [Fact]
    public async Task Connects_to_the_checked_address_and_resolves_once()
    {
        var lookups = 0;
        EgressHostResolver resolve = (host, cancellationToken) =>
        {
            Interlocked.Increment(ref lookups);
            return Task.FromResult(new[] { IPAddress.Loopback });
        };
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true, Resolve = resolve });

        await using var connection = await ConnectAsync();
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"api.example.test:{_echo.Port}\nping"));
        connection.CompleteWrites();
        var reader = PipeReader.Create(connection);

        Assert.True((await EgressResponse.ReadAsync(reader)).IsSuccess);
        Assert.Equal("ping", Encoding.ASCII.GetString(await ReadToEndAsync(reader)));
        Assert.Equal(1, lookups);
        Assert.Equal(1, _echo.Accepted);
    }

    [Fact]
    public async Task Tries_the_next_checked_address_when_one_does_not_answer()
    {
        // Nothing listens on ::1 at the echo port (the echo server is IPv4 only), so the second address is the one.
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true, Resolve = Resolver(("two.test", ["::1", "127.0.0.1"])) });

        await using var connection = await ConnectAsync();
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"two.test:{_echo.Port}\n"));
        var reader = PipeReader.Create(connection);

        Assert.True((await EgressResponse.ReadAsync(reader)).IsSuccess);
        Assert.Contains(_log, e => e.Outcome == EgressForwarderOutcome.Connected && e.Detail == $"connected to 127.0.0.1:{_echo.Port}");
    }

    [Fact]
    public async Task Reports_a_name_that_does_not_resolve()
    {
        EgressHostResolver resolve = (host, cancellationToken) => throw new SocketException((int)SocketError.HostNotFound);
        await StartAsync(new EgressForwarderOptions { Resolve = resolve });

        var answer = await RequestAsync("nowhere.test:80");

        Assert.StartsWith("cannot resolve nowhere.test: ", answer.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_a_destination_that_refuses_the_connection()
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true });
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var answer = await RequestAsync($"127.0.0.1:{closedPort}");

        Assert.StartsWith($"cannot connect: 127.0.0.1:{closedPort}: ", answer.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-port\n", "egress request 'no-port': no ':port'")]
    [InlineData("host:0\n", "egress request 'host:0': port '0' is not a decimal number 1–65535")]
    [InlineData("::1:443\n", "egress request '::1:443': more than one ':'; an IPv6 address must be in brackets")]
    public async Task Answers_a_malformed_request_line_with_err(string line, string reason)
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true });

        await using var connection = await ConnectAsync();
        await connection.WriteAsync(Encoding.UTF8.GetBytes(line));
        var answer = await EgressResponse.ReadAsync(PipeReader.Create(connection));

        // The ERR line is ASCII: the en dash of the parser's message becomes '?'.
        Assert.Equal(reason.Replace('–', '?'), answer.Reason);
    }

    [Fact]
    public async Task Gives_up_on_an_enclave_that_never_sends_its_line()
    {
        await StartAsync(new EgressForwarderOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) });

        await using var connection = await ConnectAsync();
        var answer = await EgressResponse.ReadAsync(PipeReader.Create(connection));

        Assert.Equal("no host:port line within 0.2 s", answer.Reason);
    }

    [Fact]
    public async Task Cancellation_closes_open_relays_and_ends_the_run()
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true });
        await using var connection = await ConnectAsync();
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"127.0.0.1:{_echo.Port}\n"));
        var reader = PipeReader.Create(connection);
        Assert.True((await EgressResponse.ReadAsync(reader)).IsSuccess);

        await _stop.CancelAsync();
        await _running!;

        // The relay is gone: the enclave's side reads end of stream although it never closed its own half.
        Assert.Empty(await ReadToEndAsync(reader));
    }

    [Fact]
    public async Task Closes_an_idle_relay_with_an_orderly_end_on_both_sides()
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true, IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var destination = new TcpListener(IPAddress.Loopback, 0);
        destination.Start();
        var port = ((IPEndPoint)destination.LocalEndpoint).Port;

        await using var connection = await ConnectAsync();
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"127.0.0.1:{port}\n"));
        var reader = PipeReader.Create(connection);
        Assert.True((await EgressResponse.ReadAsync(reader)).IsSuccess);
        using var accepted = await destination.AcceptSocketAsync();

        // Neither side sends; each then reads end of stream (a reset would throw instead).
        Assert.Empty(await ReadToEndAsync(reader).WaitAsync(TimeSpan.FromSeconds(30)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await accepted.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token));
        await WaitForLogAsync(EgressForwarderOutcome.Idle);
        Assert.Contains(_log, e => e.Outcome == EgressForwarderOutcome.Idle && e.Detail == "closed after 0.3 s without traffic: 0 bytes forward, 0 bytes back");
    }

    [Fact]
    public async Task Refuses_a_connection_over_the_limit_with_err_connects_nothing_and_logs_once()
    {
        await StartAsync(new EgressForwarderOptions { AllowPrivateDestinations = true, MaxTunnels = 1, OverloadLogInterval = TimeSpan.FromHours(1) });
        var open = await ConnectAsync();
        await open.WriteAsync(Encoding.ASCII.GetBytes($"127.0.0.1:{_echo.Port}\n"));
        var openReader = PipeReader.Create(open);
        Assert.True((await EgressResponse.ReadAsync(openReader)).IsSuccess);

        var first = await RequestAsync($"127.0.0.1:{_echo.Port}");
        var second = await RequestAsync($"127.0.0.1:{_echo.Port}");

        Assert.Equal("too many connections: the host relays at most 1 at once for this enclave", first.Reason);
        Assert.Equal(first.Reason, second.Reason);
        Assert.Equal(1, _echo.Accepted);
        Assert.Single(_log, e => e.Outcome == EgressForwarderOutcome.Connected);
        Assert.Equal(
            [new EgressForwarderEvent(EgressForwarderOutcome.Overloaded, $"127.0.0.1:{_echo.Port}", first.Reason!)],
            _log.Where(e => e.Outcome == EgressForwarderOutcome.Overloaded));

        // Once the open relay ends, its place is free again.
        open.CompleteWrites();
        Assert.Empty(await ReadToEndAsync(openReader));
        await open.DisposeAsync();
        await WaitForLogAsync(EgressForwarderOutcome.Closed);
        await using var next = await ConnectAsync();
        await next.WriteAsync(Encoding.ASCII.GetBytes($"127.0.0.1:{_echo.Port}\n"));
        Assert.True((await EgressResponse.ReadAsync(PipeReader.Create(next))).IsSuccess);
    }

    [Fact]
    public void A_limit_below_one_or_a_non_positive_idle_timeout_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EgressForwarder(new EgressForwarderOptions { MaxTunnels = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EgressForwarder(new EgressForwarderOptions { IdleTimeout = TimeSpan.Zero }));
        _ = new EgressForwarder(new EgressForwarderOptions { IdleTimeout = Timeout.InfiniteTimeSpan });
    }

    private async Task StartAsync(EgressForwarderOptions options)
    {
        var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
        _listener = await host.ListenAsync(VsockEndpoint.EgressPort);
        var logged = new EgressForwarderOptions
        {
            AllowPrivateDestinations = options.AllowPrivateDestinations,
            AllowedPrivateNetworks = options.AllowedPrivateNetworks,
            ConnectTimeout = options.ConnectTimeout,
            RequestTimeout = options.RequestTimeout,
            IdleTimeout = options.IdleTimeout,
            MaxTunnels = options.MaxTunnels,
            OverloadLogInterval = options.OverloadLogInterval,
            Resolve = options.Resolve,
            Log = _log.Enqueue,
        };
        _running = new EgressForwarder(logged).RunAsync(_listener, _stop.Token);
    }

    private async Task<VsockStream> ConnectAsync()
    {
        var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = EnclaveCid });
        return await enclave.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.EgressPort));
    }

    private async Task<EgressResponse> RequestAsync(string destination)
    {
        await using var connection = await ConnectAsync();
        await new EgressRequest(destination[..destination.LastIndexOf(':')], int.Parse(destination[(destination.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).WriteAsync(connection);
        var reader = PipeReader.Create(connection);
        var answer = await EgressResponse.ReadAsync(reader);
        Assert.False(answer.IsSuccess);
        // After ERR the host closes.
        Assert.Empty(await ReadToEndAsync(reader));
        return answer;
    }

    private async Task WaitForLogAsync(EgressForwarderOutcome outcome)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!_log.Any(e => e.Outcome == outcome))
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static EgressHostResolver Resolver(params (string Name, string[] Addresses)[] map) =>
        (host, cancellationToken) => Task.FromResult(map.Single(entry => entry.Name == host).Addresses.Select(IPAddress.Parse).ToArray());

    private static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        var received = new MemoryStream();
        await reader.CopyToAsync(received);
        return received.ToArray();
    }
}

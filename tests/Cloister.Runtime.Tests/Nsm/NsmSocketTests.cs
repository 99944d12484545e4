using System.Collections.Concurrent;
using System.Net.Sockets;
using Cloister.Attestation.Nsm;
using Cloister.Runtime.Nsm;
using Cloister.Testing;

namespace Cloister.Runtime.Tests.Nsm;

public sealed class NsmSocketTests : IAsyncLifetime, IDisposable
{
    // DescribeNSM as the NSM API encodes it: the CBOR text "DescribeNSM".
    private static readonly byte[] s_describeNsm = Convert.FromHexString("6b44657363726962654e534d");
    private readonly TempRunDirectory _run = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private NsmSocketServer _server = null!;
    private Task _serving = Task.CompletedTask;
    private int _handled;

    private string SocketPath => Path.Combine(_run.Path, "nsm.sock");

    public Task InitializeAsync()
    {
        _server = new NsmSocketServer(SocketPath, Handle, _failures.Enqueue);
        _serving = _server.RunAsync(_stop.Token);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _serving;
        await _server.DisposeAsync();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task A_request_round_trips_through_the_handler()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        var response = await device.ExchangeAsync(s_describeNsm);

        Assert.Equal(Transform(s_describeNsm), response);
        Assert.Equal(1, _handled);
    }

    [Fact]
    public async Task Requests_of_the_largest_size_and_empty_ones_pass()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);
        var largest = Enumerable.Range(0, NsmDevice.MaxRequestLength).Select(i => (byte)i).ToArray();

        Assert.Equal(Transform(largest), await device.ExchangeAsync(largest));
        Assert.Equal(Transform(ReadOnlyMemory<byte>.Empty), await device.ExchangeAsync(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public async Task An_oversized_request_is_refused_before_it_is_sent()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        var ex = await Assert.ThrowsAsync<NsmDeviceException>(() => device.ExchangeAsync(new byte[NsmDevice.MaxRequestLength + 1]).AsTask());

        Assert.Equal(NsmDeviceError.InputTooLarge, ex.Error);
        Assert.Equal(0, _handled);
        Assert.Equal(Transform(s_describeNsm), await device.ExchangeAsync(s_describeNsm));
    }

    [Theory]
    [InlineData("00001001", false)] // announces MaxRequestLength + 1 bytes: refused on the header alone
    [InlineData("0000000A010203", true)] // announces 10 bytes, sends 3, then ends
    public async Task A_client_sending_a_bad_frame_is_dropped_and_the_others_are_served(string frameHex, bool endWrites)
    {
        using var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await raw.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
        using var bystander = await NsmSocketDevice.ConnectAsync(SocketPath);

        await raw.SendAsync(Convert.FromHexString(frameHex));
        if (endWrites)
        {
            raw.Shutdown(SocketShutdown.Send);
        }

        Assert.Equal(0, await raw.ReceiveAsync(new byte[16]));
        Assert.Equal(0, _handled);
        Assert.Equal(Transform(s_describeNsm), await bystander.ExchangeAsync(s_describeNsm));
    }

    [Fact]
    public async Task Many_clients_are_served_concurrently()
    {
        var clients = Enumerable.Range(0, 32).Select(async client =>
        {
            using var device = await NsmSocketDevice.ConnectAsync(SocketPath);
            for (var i = 0; i < 20; i++)
            {
                var request = BitConverter.GetBytes((client * 1000) + i);
                var response = await device.ExchangeAsync(request);
                if (!Transform(request).AsSpan().SequenceEqual(response))
                {
                    return false;
                }
            }

            return true;
        });

        Assert.All(await Task.WhenAll(clients), Assert.True);
        Assert.Equal(32 * 20, _handled);
    }

    [Fact]
    public async Task Concurrent_callers_on_one_device_each_get_their_own_answer()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            (Request: i, Response: await device.ExchangeAsync(BitConverter.GetBytes(i)))));

        Assert.All(answers, answer => Assert.Equal(Transform(BitConverter.GetBytes(answer.Request)), answer.Response));
    }

    [Fact]
    public async Task A_failing_handler_is_answered_as_the_device_answers_an_internal_failure_and_its_message_is_reported()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        var answer = NsmCodec.DecodeResponse(await device.ExchangeAsync("boom"u8.ToArray()));

        Assert.Equal(NsmErrorCode.InternalError, Assert.IsType<NsmErrorResponse>(answer).Code);
        Assert.Equal(["simulated NSM: a 4-byte request failed: InvalidOperationException: the handler failed"], _failures);
        // The connection goes on, as the device's does.
        Assert.Equal(Transform(s_describeNsm), await device.ExchangeAsync(s_describeNsm));
    }

    [Fact]
    public async Task A_response_larger_than_the_device_can_answer_becomes_an_internal_failure_and_is_reported()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        var answer = NsmCodec.DecodeResponse(await device.ExchangeAsync("huge"u8.ToArray()));

        Assert.Equal(NsmErrorCode.InternalError, Assert.IsType<NsmErrorResponse>(answer).Code);
        Assert.Equal([$"simulated NSM: a 4-byte request got a {NsmDevice.MaxResponseLength + 1}-byte answer, over the device's {NsmDevice.MaxResponseLength}"], _failures);
    }

    [Fact]
    public async Task A_response_buffer_below_the_maximum_is_refused()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);

        await Assert.ThrowsAsync<ArgumentException>(() => device.ExchangeAsync(s_describeNsm, new byte[100]).AsTask());
    }

    [Fact]
    public async Task Shutting_down_closes_clients_and_removes_the_socket()
    {
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);
        Assert.Equal(Transform(s_describeNsm), await device.ExchangeAsync(s_describeNsm));

        await _stop.CancelAsync();
        await _serving;

        Assert.False(File.Exists(SocketPath));
        await Assert.ThrowsAnyAsync<IOException>(() => device.ExchangeAsync(s_describeNsm).AsTask());
        await Assert.ThrowsAsync<IOException>(() => NsmSocketDevice.ConnectAsync(SocketPath).AsTask());
    }

    [Fact]
    public async Task Disposing_a_running_server_stops_accepting_and_removes_the_socket()
    {
        await _server.DisposeAsync();

        Assert.False(File.Exists(SocketPath));
        await Assert.ThrowsAsync<IOException>(() => NsmSocketDevice.ConnectAsync(SocketPath).AsTask());
        await _stop.CancelAsync();
        await _serving;
    }

    [Fact]
    public async Task A_second_server_on_a_live_socket_is_refused()
    {
        var ex = Assert.Throws<IOException>(() => new NsmSocketServer(SocketPath, Transform));

        Assert.Contains("another process is listening", ex.Message, StringComparison.Ordinal);
        using var device = await NsmSocketDevice.ConnectAsync(SocketPath);
        Assert.Equal(Transform(s_describeNsm), await device.ExchangeAsync(s_describeNsm));
    }

    [Fact]
    public async Task A_disposed_device_refuses_exchanges()
    {
        var device = await NsmSocketDevice.ConnectAsync(SocketPath);
        device.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => device.ExchangeAsync(s_describeNsm).AsTask());
    }

    private byte[] Handle(ReadOnlyMemory<byte> request)
    {
        if (request.Span.SequenceEqual("boom"u8))
        {
            throw new InvalidOperationException("the handler failed");
        }

        Interlocked.Increment(ref _handled);
        return request.Span.SequenceEqual("huge"u8) ? new byte[NsmDevice.MaxResponseLength + 1] : Transform(request);
    }

    // A reversible, length-changing transform, so an echo or a mixed-up answer cannot pass.
    private static byte[] Transform(ReadOnlyMemory<byte> request)
    {
        var response = new byte[request.Length + 2];
        response[0] = 0xA1;
        for (var i = 0; i < request.Length; i++)
        {
            response[i + 1] = (byte)(request.Span[request.Length - 1 - i] ^ 0x5A);
        }

        response[^1] = (byte)request.Length;
        return response;
    }
}

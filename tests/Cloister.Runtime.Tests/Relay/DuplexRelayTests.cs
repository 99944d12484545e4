using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Runtime.Relay;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Runtime.Tests.Relay;

public sealed class DuplexRelayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Half_close_travels_across_and_the_other_direction_keeps_flowing(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        var relaying = rig.RunAsync(CancellationToken.None);

        await rig.Left.SendAsync("question"u8.ToArray());
        rig.Left.Shutdown(SocketShutdown.Send);
        Assert.Equal("question", await ReadToEndAsync(rig.Right));

        // The left side has finished sending, yet the answer still reaches it.
        await rig.Right.SendAsync("answer after EOF"u8.ToArray());
        rig.Right.Shutdown(SocketShutdown.Send);
        Assert.Equal("answer after EOF", await ReadToEndAsync(rig.Left));

        Assert.Equal(new RelayResult(8, 16, Faulted: false), await relaying);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Megabytes_both_ways_at_once_arrive_intact_and_are_counted(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        var relaying = rig.RunAsync(CancellationToken.None);
        var forward = RandomBytes(5_000_003);
        var backward = RandomBytes(3_000_017);

        // Both directions in flight together, each far larger than the socket buffers and the relay's own.
        var leftReceiving = ReadAllAsync(rig.Left);
        var rightReceiving = ReadAllAsync(rig.Right);
        await Task.WhenAll(SendAndCloseAsync(rig.Left, forward), SendAndCloseAsync(rig.Right, backward));

        Assert.Equal(forward, await rightReceiving);
        Assert.Equal(backward, await leftReceiving);
        Assert.Equal(new RelayResult(forward.Length, backward.Length, Faulted: false), await relaying);
    }

    [Fact]
    public async Task Bytes_already_buffered_in_the_reader_are_relayed_first()
    {
        using var rig = await Rig.CreateAsync();
        await rig.Left.SendAsync("line\nrest"u8.ToArray());
        rig.Left.Shutdown(SocketShutdown.Send);
        rig.Right.Shutdown(SocketShutdown.Send);
        var leftReader = PipeReader.Create(new NetworkStream(rig.LeftRelay));
        // Consume the "line\n" handshake as a protocol reader would, leaving "rest" buffered.
        var read = await leftReader.ReadAtLeastAsync(9);
        leftReader.AdvanceTo(read.Buffer.GetPosition(5));

        var result = await DuplexRelay.RunAsync(RelayEnd.ForSocket(rig.LeftRelay, leftReader), RelayEnd.ForSocket(rig.RightRelay), CancellationToken.None);

        Assert.Equal("rest", await ReadToEndAsync(rig.Right));
        Assert.Equal(4, result.FirstToSecond);
    }

    [Fact]
    public async Task A_reset_on_one_side_ends_both_directions()
    {
        using var rig = await Rig.CreateAsync();
        var relaying = rig.RunAsync(CancellationToken.None);

        rig.Left.LingerState = new LingerOption(true, 0);
        rig.Left.Dispose();

        Assert.True((await relaying).Faulted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancellation_ends_an_idle_relay(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        using var stop = new CancellationTokenSource();
        var relaying = rig.RunAsync(stop.Token);

        await stop.CancelAsync();

        Assert.True((await relaying).Faulted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_relay_with_no_traffic_holds_no_buffer_and_rents_again_when_bytes_come(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        var pool = new CountingArrayPool();
        var relaying = rig.RunAsync(new RelayOptions { BufferPool = pool });

        // Both directions have carried bytes, so each has rented its buffer at least once; now neither has anything to do.
        await rig.Left.SendAsync("ping"u8.ToArray());
        Assert.Equal("ping", await ReceiveAsync(rig.Right, 4));
        await rig.Right.SendAsync("pong"u8.ToArray());
        Assert.Equal("pong", await ReceiveAsync(rig.Left, 4));
        await pool.WaitUntilAllReturnedAsync();
        var rentedBeforeQuiet = pool.Rented;
        Assert.True(rentedBeforeQuiet >= 2, $"{rentedBeforeQuiet} rented");

        // Waking up rents again, and every byte still arrives, half-close included.
        await rig.Left.SendAsync("again"u8.ToArray());
        rig.Left.Shutdown(SocketShutdown.Send);
        Assert.Equal("again", await ReadToEndAsync(rig.Right));
        await rig.Right.SendAsync("back after EOF"u8.ToArray());
        rig.Right.Shutdown(SocketShutdown.Send);
        Assert.Equal("back after EOF", await ReadToEndAsync(rig.Left));

        Assert.Equal(new RelayResult(9, 18, Faulted: false), await relaying);
        Assert.True(pool.Rented > rentedBeforeQuiet);
        Assert.Equal(0, pool.Outstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bulk_transfer_returns_every_buffer_it_rented(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        var pool = new CountingArrayPool();
        var relaying = rig.RunAsync(new RelayOptions { BufferPool = pool });
        var forward = RandomBytes(2_000_003);
        var backward = RandomBytes(1_000_033);

        var leftReceiving = ReadAllAsync(rig.Left);
        var rightReceiving = ReadAllAsync(rig.Right);
        await Task.WhenAll(SendAndCloseAsync(rig.Left, forward), SendAndCloseAsync(rig.Right, backward));

        Assert.Equal(forward, await rightReceiving);
        Assert.Equal(backward, await leftReceiving);
        Assert.Equal(new RelayResult(forward.Length, backward.Length, Faulted: false), await relaying);
        Assert.Equal(0, pool.Outstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_idle_timeout_ends_both_sides_with_end_of_stream(bool unixOnTheRight)
    {
        using var rig = await Rig.CreateAsync(unixOnTheRight);
        var clock = new FakeTimeProvider();
        var relaying = rig.RunAsync(new RelayOptions { IdleTimeout = TimeSpan.FromMinutes(1), TimeProvider = clock });

        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(new RelayResult(0, 0, Faulted: false, IdledOut: true), await relaying.WaitAsync(TimeSpan.FromSeconds(30)));
        // An orderly end on both sides: each reads end of stream, not a reset.
        Assert.Empty(await ReadAllAsync(rig.Left));
        Assert.Empty(await ReadAllAsync(rig.Right));
    }

    [Fact]
    public async Task Traffic_either_way_postpones_the_idle_timeout()
    {
        using var rig = await Rig.CreateAsync();
        var clock = new FakeTimeProvider();
        var relaying = rig.RunAsync(new RelayOptions { IdleTimeout = TimeSpan.FromMinutes(1), TimeProvider = clock });

        // 40 s, bytes, 40 s, bytes the other way, 40 s: never a whole minute without traffic, so the relay still carries.
        clock.Advance(TimeSpan.FromSeconds(40));
        await rig.Left.SendAsync("one"u8.ToArray());
        Assert.Equal("one", await ReceiveAsync(rig.Right, 3));
        clock.Advance(TimeSpan.FromSeconds(40));
        await rig.Right.SendAsync("two"u8.ToArray());
        Assert.Equal("two", await ReceiveAsync(rig.Left, 3));
        clock.Advance(TimeSpan.FromSeconds(40));
        await rig.Left.SendAsync("three"u8.ToArray());
        Assert.Equal("three", await ReceiveAsync(rig.Right, 5));

        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(new RelayResult(8, 3, Faulted: false, IdledOut: true), await relaying.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void An_idle_timeout_must_be_positive_or_infinite()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RelayOptions.ValidateIdleTimeout(TimeSpan.Zero, "IdleTimeout"));
        Assert.Throws<ArgumentOutOfRangeException>(() => RelayOptions.ValidateIdleTimeout(TimeSpan.FromSeconds(-2), "IdleTimeout"));
        RelayOptions.ValidateIdleTimeout(Timeout.InfiniteTimeSpan, "IdleTimeout");
        RelayOptions.ValidateIdleTimeout(TimeSpan.FromMilliseconds(1), "IdleTimeout");
    }

    private static async Task<string> ReceiveAsync(Socket socket, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, read);
            received += read;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    private static async Task<string> ReadToEndAsync(Socket socket) => Encoding.ASCII.GetString(await ReadAllAsync(socket));

    private static async Task<byte[]> ReadAllAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[65536];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return received.ToArray();
    }

    private static async Task SendAndCloseAsync(Socket socket, byte[] bytes)
    {
        await socket.SendAsync(bytes);
        socket.Shutdown(SocketShutdown.Send);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Two connections, loopback TCP on the left and TCP or a Unix socket (the simulator's vsock) on the right: the test
    /// holds Left and Right, the relay joins LeftRelay and RightRelay.
    /// </summary>
    private sealed class Rig : IDisposable
    {
        private Rig(Socket left, Socket leftRelay, Socket right, Socket rightRelay)
        {
            Left = left;
            LeftRelay = leftRelay;
            Right = right;
            RightRelay = rightRelay;
        }

        public Socket Left { get; }

        public Socket LeftRelay { get; }

        public Socket Right { get; }

        public Socket RightRelay { get; }

        public static async Task<Rig> CreateAsync(bool unixOnTheRight = false)
        {
            var (left, leftRelay) = await TcpPairAsync();
            var (right, rightRelay) = unixOnTheRight ? await UnixPairAsync() : await TcpPairAsync();
            return new Rig(left, leftRelay, right, rightRelay);
        }

        public Task<RelayResult> RunAsync(CancellationToken cancellationToken) =>
            DuplexRelay.RunAsync(RelayEnd.ForSocket(LeftRelay), RelayEnd.ForSocket(RightRelay), cancellationToken);

        public Task<RelayResult> RunAsync(RelayOptions options) =>
            DuplexRelay.RunAsync(RelayEnd.ForSocket(LeftRelay), RelayEnd.ForSocket(RightRelay), options, CancellationToken.None);

        public void Dispose()
        {
            Left.Dispose();
            LeftRelay.Dispose();
            Right.Dispose();
            RightRelay.Dispose();
        }

        private static Task<(Socket Outer, Socket Inner)> TcpPairAsync() =>
            PairAsync(new IPEndPoint(IPAddress.Loopback, 0), () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));

        private static async Task<(Socket Outer, Socket Inner)> UnixPairAsync()
        {
            var directory = Directory.CreateTempSubdirectory("cloister-relay-");
            try
            {
                return await PairAsync(new UnixDomainSocketEndPoint(Path.Combine(directory.FullName, "s")), () => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified));
            }
            finally
            {
                directory.Delete(recursive: true);
            }
        }

        private static async Task<(Socket Outer, Socket Inner)> PairAsync(EndPoint endpoint, Func<Socket> create)
        {
            using var listener = create();
            listener.Bind(endpoint);
            listener.Listen();
            var outer = create();
            await outer.ConnectAsync(listener.LocalEndPoint!);
            return (outer, await listener.AcceptAsync());
        }
    }
}

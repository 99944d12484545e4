using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Runtime.Relay;

namespace Cloister.Runtime.Tests.Relay;

public sealed class DuplexRelayTests
{
    [Fact]
    public async Task Half_close_travels_across_and_the_other_direction_keeps_flowing()
    {
        using var rig = await Rig.CreateAsync();
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

    [Fact]
    public async Task Bytes_already_buffered_in_the_reader_are_relayed_first()
    {
        using var rig = await Rig.CreateAsync();
        await rig.Left.SendAsync("line\nrest"u8.ToArray());
        rig.Left.Shutdown(SocketShutdown.Send);
        rig.Right.Shutdown(SocketShutdown.Send);
        var leftStream = new NetworkStream(rig.LeftRelay);
        var leftReader = PipeReader.Create(leftStream);
        // Consume the "line\n" handshake as a protocol reader would, leaving "rest" buffered.
        var read = await leftReader.ReadAtLeastAsync(9);
        leftReader.AdvanceTo(read.Buffer.GetPosition(5));
        var rightStream = new NetworkStream(rig.RightRelay);

        var result = await DuplexRelay.RunAsync(RelayEnd.ForSocket(leftReader, leftStream), RelayEnd.ForSocket(PipeReader.Create(rightStream), rightStream), CancellationToken.None);

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

    [Fact]
    public async Task Cancellation_ends_an_idle_relay()
    {
        using var rig = await Rig.CreateAsync();
        using var stop = new CancellationTokenSource();
        var relaying = rig.RunAsync(stop.Token);

        await stop.CancelAsync();

        Assert.True((await relaying).Faulted);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Two loopback TCP connections: the test holds Left and Right, the relay joins LeftRelay and RightRelay.</summary>
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

        public static async Task<Rig> CreateAsync()
        {
            var (left, leftRelay) = await PairAsync();
            var (right, rightRelay) = await PairAsync();
            return new Rig(left, leftRelay, right, rightRelay);
        }

        public Task<RelayResult> RunAsync(CancellationToken cancellationToken)
        {
            var left = new NetworkStream(LeftRelay);
            var right = new NetworkStream(RightRelay);
            return DuplexRelay.RunAsync(RelayEnd.ForSocket(PipeReader.Create(left), left), RelayEnd.ForSocket(PipeReader.Create(right), right), cancellationToken);
        }

        public void Dispose()
        {
            Left.Dispose();
            LeftRelay.Dispose();
            Right.Dispose();
            RightRelay.Dispose();
        }

        private static async Task<(Socket Outer, Socket Inner)> PairAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen();
            var outer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await outer.ConnectAsync(listener.LocalEndPoint!);
            return (outer, await listener.AcceptAsync());
        }
    }
}

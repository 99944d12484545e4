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
        var (left, leftRelay) = await SocketPairAsync();
        var (right, rightRelay) = await SocketPairAsync();
        using (left)
        using (leftRelay)
        using (right)
        using (rightRelay)
        {
            var relaying = Run(leftRelay, rightRelay, CancellationToken.None);

            await left.SendAsync("question"u8.ToArray());
            left.Shutdown(SocketShutdown.Send);
            Assert.Equal("question", await ReadToEndAsync(right));

            // The left side has finished sending, yet the answer still reaches it.
            await right.SendAsync("answer after EOF"u8.ToArray());
            right.Shutdown(SocketShutdown.Send);
            Assert.Equal("answer after EOF", await ReadToEndAsync(left));

            var result = await relaying;
            Assert.Equal(new RelayResult(8, 16, Faulted: false), result);
        }
    }

    [Fact]
    public async Task Bytes_already_buffered_in_the_reader_are_relayed_first()
    {
        var (left, leftRelay) = await SocketPairAsync();
        var (right, rightRelay) = await SocketPairAsync();
        using (left)
        using (leftRelay)
        using (right)
        using (rightRelay)
        {
            await left.SendAsync("line\nrest"u8.ToArray());
            left.Shutdown(SocketShutdown.Send);
            var leftStream = new NetworkStream(leftRelay);
            var leftReader = PipeReader.Create(leftStream);
            // Consume the "line\n" handshake as a protocol reader would, leaving "rest" buffered.
            var read = await leftReader.ReadAtLeastAsync(9);
            leftReader.AdvanceTo(read.Buffer.GetPosition(5));
            var rightStream = new NetworkStream(rightRelay);
            right.Shutdown(SocketShutdown.Send);

            var result = await DuplexRelay.RunAsync(RelayEnd.ForSocket(leftReader, leftStream), RelayEnd.ForSocket(PipeReader.Create(rightStream), rightStream), CancellationToken.None);

            Assert.Equal("rest", await ReadToEndAsync(right));
            Assert.Equal(4, result.FirstToSecond);
        }
    }

    [Fact]
    public async Task A_reset_on_one_side_ends_both_directions()
    {
        var (left, leftRelay) = await SocketPairAsync();
        var (right, rightRelay) = await SocketPairAsync();
        using (leftRelay)
        using (right)
        using (rightRelay)
        {
            var relaying = Run(leftRelay, rightRelay, CancellationToken.None);
            left.LingerState = new LingerOption(true, 0);
            left.Dispose();

            var result = await relaying;

            Assert.True(result.Faulted);
        }
    }

    [Fact]
    public async Task Cancellation_ends_an_idle_relay()
    {
        var (left, leftRelay) = await SocketPairAsync();
        var (right, rightRelay) = await SocketPairAsync();
        using (left)
        using (leftRelay)
        using (right)
        using (rightRelay)
        using (var stop = new CancellationTokenSource())
        {
            var relaying = Run(leftRelay, rightRelay, stop.Token);

            await stop.CancelAsync();

            Assert.True((await relaying).Faulted);
        }
    }

    private static Task<RelayResult> Run(Socket first, Socket second, CancellationToken cancellationToken)
    {
        var firstStream = new NetworkStream(first);
        var secondStream = new NetworkStream(second);
        return DuplexRelay.RunAsync(
            RelayEnd.ForSocket(PipeReader.Create(firstStream), firstStream),
            RelayEnd.ForSocket(PipeReader.Create(secondStream), secondStream),
            cancellationToken);
    }

    // A connected TCP pair on loopback: the test's end and the relay's end.
    private static async Task<(Socket Outer, Socket Inner)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var outer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await outer.ConnectAsync(listener.LocalEndPoint!);
        return (outer, await listener.AcceptAsync());
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
}

using System.Text;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Runtime.Tests.Messages;

public sealed class StopRequestTests : IDisposable
{
    private const uint EnclaveCid = 16;
    private readonly TempRunDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_stop_request_reaches_the_supervisor_once_and_is_acknowledged()
    {
        var stops = 0;
        var server = await StopRequest.ServeAsync(Simulated(EnclaveCid), () => Interlocked.Increment(ref stops));

        await StopRequest.SendAsync(Simulated(VsockEndpoint.HostCid), EnclaveCid);
        await StopRequest.SendAsync(Simulated(VsockEndpoint.HostCid), EnclaveCid);

        Assert.Equal(2, stops);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Without_a_listening_supervisor_the_host_learns_it_at_once()
    {
        await Assert.ThrowsAsync<VsockConnectException>(() => StopRequest.SendAsync(Simulated(VsockEndpoint.HostCid), EnclaveCid));
    }

    [Theory]
    [InlineData("halt\n", "unknown request 'halt'\n")]
    [InlineData("stop", "")]
    public async Task Anything_but_a_whole_stop_line_stops_nothing(string sent, string expectedAnswer)
    {
        var stops = 0;
        var server = await StopRequest.ServeAsync(Simulated(EnclaveCid), () => Interlocked.Increment(ref stops));

        await using (var connection = await Simulated(VsockEndpoint.HostCid).ConnectAsync(new VsockEndpoint(EnclaveCid, VsockEndpoint.StopPort)))
        {
            await connection.WriteAsync(Encoding.ASCII.GetBytes(sent));
            connection.CompleteWrites();
            using var answer = new MemoryStream();
            await connection.CopyToAsync(answer).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(expectedAnswer, Encoding.ASCII.GetString(answer.ToArray()));
        }

        Assert.Equal(0, stops);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_wrong_acknowledgement_is_invalid_data_for_the_host()
    {
        await using var listener = await Simulated(EnclaveCid).ListenAsync(VsockEndpoint.StopPort);
        var impostor = Task.Run(async () =>
        {
            await using var connection = await listener.AcceptAsync();
            // It reads the request first: closing before the host has written would make this a broken pipe instead.
            var request = new byte[5];
            await connection.ReadExactlyAsync(request);
            await connection.WriteAsync("ok\n"u8.ToArray());
        });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => StopRequest.SendAsync(Simulated(VsockEndpoint.HostCid), EnclaveCid));

        Assert.Contains("answered 'ok'", error.Message);
        await impostor;
    }

    private VsockTransport Simulated(uint cid) =>
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = cid });
}

using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Runtime.Tests.Messages;

public sealed class HeartbeatTests : IDisposable
{
    private readonly TempRunDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task The_enclave_and_the_host_complete_the_heartbeat_over_simulated_vsock()
    {
        var host = Simulated(VsockEndpoint.HostCid);
        var enclave = Simulated(16);
        await using var listener = await host.ListenAsync(VsockEndpoint.HeartbeatPort);

        var answering = Heartbeat.AnswerAsync(listener).AsTask();
        await Heartbeat.SendAsync(enclave);
        await answering;
    }

    [Fact]
    public async Task The_host_echoes_exactly_0xB7()
    {
        var stream = new ScriptedStream([0xB7]);

        await Heartbeat.AnswerAsync(stream);

        Assert.Equal([0xB7], stream.Written);
    }

    [Fact]
    public async Task The_host_rejects_a_wrong_byte_and_echoes_nothing()
    {
        var stream = new ScriptedStream([0x41]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Heartbeat.AnswerAsync(stream).AsTask());

        Assert.Contains("byte 0x41 at offset 0 from the enclave, expected 0xB7", ex.Message, StringComparison.Ordinal);
        Assert.Empty(stream.Written);
    }

    [Fact]
    public async Task The_enclave_rejects_a_wrong_echo()
    {
        var stream = new ScriptedStream([0x00]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Heartbeat.SendAsync(stream).AsTask());

        Assert.Contains("0x00 at offset 0 echoed by the host", ex.Message, StringComparison.Ordinal);
        Assert.Equal([0xB7], stream.Written);
    }

    [Fact]
    public async Task A_closed_connection_is_a_truncated_heartbeat_on_both_sides()
    {
        await Assert.ThrowsAsync<EndOfStreamException>(() => Heartbeat.AnswerAsync(new ScriptedStream([])).AsTask());
        await Assert.ThrowsAsync<EndOfStreamException>(() => Heartbeat.SendAsync(new ScriptedStream([])).AsTask());
    }

    [Fact]
    public async Task The_enclave_fails_clearly_when_the_host_does_not_listen() =>
        await Assert.ThrowsAsync<VsockConnectException>(() => Heartbeat.SendAsync(Simulated(16)).AsTask());

    private VsockTransport Simulated(uint cid) => VsockTransport.Create(new VsockTransportOptions
    {
        Kind = VsockTransportKind.Simulated,
        RunDirectory = _run.Path,
        LocalCid = cid,
    });

    /// <summary>Reads from a fixed script and records what is written.</summary>
    private sealed class ScriptedStream(byte[] script) : MemoryStream(script)
    {
        public List<byte> Written { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.AddRange(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }
}

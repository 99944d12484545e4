using Cloister.Host.Supervision;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Host.Tests.Supervision;

/// <summary>
/// The drain at the end of a run: an enclave that wrote everything and exited before the host took its connections
/// must still have every line read.
/// </summary>
public sealed class ConnectionServiceTests : IDisposable
{
    private readonly TempRunDirectory _run = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _diagnostics = new();
    private readonly List<string> _failures = [];

    public void Dispose()
    {
        _output.Dispose();
        _diagnostics.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task A_drain_waits_for_connections_the_enclave_made_before_any_was_accepted()
    {
        await using var listener = await Simulated(VsockEndpoint.HostCid).ListenAsync(VsockEndpoint.LogsPort);
        await WriteAndCloseAsync(listener, "first connection");
        await WriteAndCloseAsync(listener, "second connection");
        var service = new ConnectionService(listener, new EnclaveLogPrinter(_output, _diagnostics).ReadAsync, _failures.Add);

        // The enclave is gone and the service has accepted nothing yet: both connections wait in the listener. The limit
        // is long enough never to be what ends this drain.
        var draining = service.DrainAsync(TimeSpan.FromSeconds(30));
        Assert.False(draining.IsCompleted);
        using var stop = new CancellationTokenSource();
        var accepting = service.AcceptAsync(stop.Token);
        await draining;
        await stop.CancelAsync();
        await accepting;

        Assert.Equal(["first connection", "second connection"], _output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Equal("", _diagnostics.ToString());
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_drain_that_cannot_settle_ends_at_its_limit()
    {
        await using var listener = await Simulated(VsockEndpoint.HostCid).ListenAsync(VsockEndpoint.LogsPort);
        await WriteAndCloseAsync(listener, "never taken");
        var service = new ConnectionService(listener, new EnclaveLogPrinter(_output, _diagnostics).ReadAsync, _failures.Add);

        // No accept loop runs, so the connection is never tracked: the drain must give up rather than hang.
        await service.DrainAsync(TimeSpan.FromMilliseconds(50));

        Assert.Equal("", _output.ToString());
    }

    private async Task WriteAndCloseAsync(VsockListener listener, string line)
    {
        await using var stream = await Simulated(InProcessEnclave.EnclaveCid).ConnectAsync(listener.LocalEndpoint);
        using var writer = new LogWriter(stream);
        await writer.WriteLineAsync(LogSource.Stdout, line);
        stream.CompleteWrites();
    }

    private VsockTransport Simulated(uint cid) => VsockTransport.Create(new VsockTransportOptions
    {
        Kind = VsockTransportKind.Simulated,
        RunDirectory = _run.Path,
        LocalCid = cid,
    });
}

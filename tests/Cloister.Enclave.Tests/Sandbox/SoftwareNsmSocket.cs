using Cloister.Attestation.Simulation;
using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// The simulator's NSM for in-process tests: a software NSM under a fresh simulated root, served on a Unix socket exactly
/// as the supervisor reaches it in a simulated enclave. A test may stand between the socket and the NSM (<c>answer</c>)
/// to hold or fail requests.
/// </summary>
internal sealed class SoftwareNsmSocket : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SoftwareNsm _nsm;
    private readonly NsmSocketServer _server;
    private readonly Task _serving;

    /// <param name="answer">Given each request and the software NSM's own processing, returns the answer; the NSM's by default.</param>
    public SoftwareNsmSocket(string socketPath, TimeProvider? timeProvider = null, Func<ReadOnlyMemory<byte>, Func<ReadOnlyMemory<byte>, byte[]>, byte[]>? answer = null)
    {
        Root = SimulatedNitroRoot.Create();
        _nsm = new SoftwareNsm(Root, timeProvider: timeProvider);
        _server = answer is null
            ? new NsmSocketServer(socketPath, _nsm.ProcessRequest)
            : new NsmSocketServer(socketPath, request => answer(request, _nsm.ProcessRequest));
        _serving = _server.RunAsync(_stop.Token);
    }

    /// <summary>The root every document chains to.</summary>
    public SimulatedNitroRoot Root { get; }

    public ValueTask<NsmSocketDevice> ConnectAsync() => NsmSocketDevice.ConnectAsync(_server.SocketPath);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _serving;
        await _server.DisposeAsync();
        _nsm.Dispose();
        Root.Dispose();
        _stop.Dispose();
    }
}

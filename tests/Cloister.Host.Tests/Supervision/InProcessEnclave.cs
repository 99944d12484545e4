using Cloister.Build.Eif;
using Cloister.Host.Supervision;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Tests.Supervision;

/// <summary>
/// An enclave whose "inside" is a delegate in this process speaking the real vsock transport (the simulator's Unix
/// sockets): enough to drive <see cref="HostSupervisor"/> without a sandbox.
/// </summary>
internal sealed class InProcessEnclave(string runDirectory, Func<VsockTransport, Task<int>> inside) : HostedEnclave
{
    public const uint EnclaveCid = 16;

    private readonly TaskCompletionSource<EnclaveTermination> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _started;

    public override string Kind => "test";

    public override VsockTransport HostTransport { get; } =
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });

    /// <summary>The enclave's side of vsock.</summary>
    public VsockTransport EnclaveTransport { get; } =
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = EnclaveCid });

    // The supervisor never reads the PCRs; only the CLI prints them.
    public override EifMeasurements Measurements => throw new NotSupportedException("an in-process enclave has no image");

    public override EnclaveLaunchSpec? LaunchSpec => null;

    public override uint Cid => _started ? EnclaveCid : throw new InvalidOperationException("not started");

    public override Task<EnclaveTermination> Completion => _completion.Task;

    /// <summary>Whether the inside ran at all.</summary>
    public bool Started => _started;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        _ = Task.Run(async () =>
        {
            try
            {
                _completion.SetResult(new EnclaveTermination(await inside(EnclaveTransport), Forced: false));
            }
            catch (Exception ex)
            {
                _completion.SetException(ex);
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public override Task<EnclaveTermination> StopAsync(TimeSpan gracePeriod) => Completion;

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

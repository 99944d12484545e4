using Cloister.Host.Nitro;
using Cloister.Host.Processes;
using Cloister.Host.Supervision;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Host.Tests.Nitro;

// Every test passes a simulated host transport: AF_VSOCK must never be opened on machines without Nitro.
public sealed class NitroLauncherTests : IDisposable
{
    private const string EnclaveJson = """{"EnclaveName":"synthetic","EnclaveID":"i-00000000000000000-enc1","ProcessID":7,"EnclaveCID":21,"NumberOfCPUs":2,"MemoryMiB":2048}""";

    private readonly TempRunDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_simulation_only_image_is_refused_with_the_reason()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        var runner = new FakeProcessRunner(_ => throw new InvalidOperationException("nitro-cli must not run"));

        var error = Assert.Throws<EnclaveLaunchException>(() => NitroLauncher.Prepare(new NitroOptions { ImagePath = harness.ImagePath }, new NitroCli(runner), HostTransport()));
        Assert.Contains("simulation-only", error.Message, StringComparison.Ordinal);
        Assert.Contains("kernel section is empty", error.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public async Task A_bootable_image_runs_through_nitro_cli_and_stops_with_terminate_enclave()
    {
        // The derived fixture has a (placeholder) kernel and AWS's command line: nothing marks it simulation-only.
        var image = RepositoryPaths.Vector("eif", "derived", "synthetic-unsigned.eif");
        var described = 0;
        var runner = new FakeProcessRunner(arguments => arguments[0] switch
        {
            "run-enclave" => new ProcessOutput(0, EnclaveJson, ""),
            "describe-enclaves" => new ProcessOutput(0, Interlocked.Increment(ref described) < 3 ? $"[{EnclaveJson[..^1]},\"State\":\"RUNNING\"}}]" : "[]", ""),
            "terminate-enclave" => new ProcessOutput(0, """{"EnclaveID":"i-00000000000000000-enc1","Terminated":true}""", ""),
            _ => throw new InvalidOperationException(arguments[0]),
        });

        await using var enclave = NitroLauncher.Prepare(
            new NitroOptions { ImagePath = image, Cpus = 2, PollInterval = TimeSpan.FromMilliseconds(10) }, new NitroCli(runner), HostTransport());
        Assert.Null(enclave.LaunchSpec);
        await enclave.StartAsync(CancellationToken.None);
        Assert.Equal(21u, enclave.Cid);

        // describe-enclaves stops listing it: the enclave is gone.
        var termination = await enclave.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(termination.ExitCode);
        Assert.Equal(["run-enclave", "--eif-path", image, "--cpu-count", "2", "--memory", "2048"], runner.Calls[0].Arguments);
    }

    [Fact]
    public async Task Stopping_asks_the_supervisor_over_the_stop_port_and_the_enclave_ends_by_itself_within_the_grace_period()
    {
        var image = RepositoryPaths.Vector("eif", "derived", "synthetic-unsigned.eif");
        var stopped = 0;
        var runner = new FakeProcessRunner(arguments => arguments[0] switch
        {
            "run-enclave" => new ProcessOutput(0, EnclaveJson, ""),
            "describe-enclaves" => new ProcessOutput(0, Volatile.Read(ref stopped) == 0 ? $"[{EnclaveJson[..^1]},\"State\":\"RUNNING\"}}]" : "[]", ""),
            _ => throw new InvalidOperationException($"nitro-cli {arguments[0]} must not run"),
        });
        await using var enclave = NitroLauncher.Prepare(
            new NitroOptions { ImagePath = image, MemoryMib = 1024, PollInterval = TimeSpan.FromMilliseconds(10) }, new NitroCli(runner), HostTransport());
        await enclave.StartAsync(CancellationToken.None);
        await using var supervisor = await StopRequest.ServeAsync(
            VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = 21 }), () => Volatile.Write(ref stopped, 1));

        var termination = await enclave.StopAsync(TimeSpan.FromSeconds(60));

        Assert.False(termination.Forced);
        Assert.DoesNotContain(runner.Calls, call => call.Arguments[0] == "terminate-enclave");
    }

    [Fact]
    public async Task Stopping_terminates_the_enclave_when_no_supervisor_answers()
    {
        var image = RepositoryPaths.Vector("eif", "derived", "synthetic-unsigned.eif");
        var runner = new FakeProcessRunner(arguments => arguments[0] switch
        {
            "run-enclave" => new ProcessOutput(0, EnclaveJson, ""),
            "describe-enclaves" => new ProcessOutput(0, $"[{EnclaveJson[..^1]},\"State\":\"RUNNING\"}}]", ""),
            _ => new ProcessOutput(0, """{"EnclaveID":"i-00000000000000000-enc1","Terminated":true}""", ""),
        });
        await using var enclave = NitroLauncher.Prepare(new NitroOptions { ImagePath = image, MemoryMib = 1024 }, new NitroCli(runner), HostTransport());
        await enclave.StartAsync(CancellationToken.None);

        var termination = await enclave.StopAsync(TimeSpan.FromSeconds(1));
        Assert.True(termination.Forced);
        Assert.Contains(runner.Calls, call => call.Arguments.SequenceEqual(["terminate-enclave", "--enclave-id", "i-00000000000000000-enc1"]));
    }

    private VsockTransport HostTransport() =>
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
}

using Cloister.Host.Simulation;
using Cloister.Host.Supervision;
using Cloister.Runtime.Messages;
using Cloister.Testing;

namespace Cloister.Host.Tests.TestEnclave;

/// <summary>
/// One scratch directory (short, under /tmp: Unix socket paths hold 107 bytes) holding a test EIF, the simulated
/// root and the run directory, and the means to run the EIF in the simulator under the host supervisor.
/// </summary>
internal sealed class SimulatorHarness : IDisposable
{
    private SimulatorHarness(string directory, string imagePath)
    {
        Directory = directory;
        ImagePath = imagePath;
    }

    public string Directory { get; }

    public string ImagePath { get; }

    public string RunDirectory => Path.Combine(Directory, "run");

    public string RootDirectory => Path.Combine(Directory, "sim-root");

    public StringWriter Output { get; } = new();

    /// <summary>The simulator's <c>--memory</c>, or <see langword="null"/> for none.</summary>
    public int? MemoryMib { get; set; }

    public StringWriter Diagnostics { get; } = new();

    public static async Task<SimulatorHarness> CreateAsync(params string[] scriptArguments)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("cht-").FullName;
        try
        {
            var build = await TestEnclaveImage.BuildAsync(Path.Combine(directory, "out"), scriptArguments);
            return new SimulatorHarness(directory, build.ImagePath);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public SimulatorOptions Options(SandboxTools? tools = null) => new()
    {
        ImagePath = ImagePath,
        RunDirectory = RunDirectory,
        MemoryMib = MemoryMib,
        SimulatedRootDirectory = RootDirectory,
        Tools = tools ?? new SandboxTools(ExternalTool.Require("bwrap", "bubblewrap"), null, null),
        ParentRoleArn = "arn:aws:iam::123456789012:role/parent",
        ParentInstanceId = "i-0123456789abcdef0",
        ConsoleLine = line => Diagnostics.WriteLine("console: " + line),
    };

    /// <summary>Prepares and runs the enclave to its end; <paramref name="stop"/> is handed each status event and may request the stop.</summary>
    public async Task<EnclaveRunResult> RunAsync(
        SandboxTools? tools = null, Action<StatusEvent, CancellationTokenSource>? onStatus = null, Action<Cloister.Host.Ingress.IngressForwarder>? onIngress = null, TimeSpan? gracePeriod = null)
    {
        await using var enclave = SimulatorLauncher.Prepare(Options(tools));
        using var stop = new CancellationTokenSource();
        // A test that hangs is a failed test: nothing here takes a minute.
        using var watchdog = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var _ = watchdog.Token.Register(stop.Cancel);
        return await HostSupervisor.RunAsync(enclave, new HostSupervisorOptions
        {
            Output = Output,
            Diagnostics = Diagnostics,
            PublishedPorts = [new Cloister.Host.Ingress.PublishedPort(0, TestEnclaveImage.IngressPort)],
            StatusChanged = statusEvent => onStatus?.Invoke(statusEvent, stop),
            IngressListening = onIngress,
            GracePeriod = gracePeriod ?? TimeSpan.FromSeconds(10),
        }, stop.Token);
    }

    /// <summary>Everything the run printed, for assertion messages.</summary>
    public string Transcript => $"--- output\n{Output}\n--- diagnostics\n{Diagnostics}";

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

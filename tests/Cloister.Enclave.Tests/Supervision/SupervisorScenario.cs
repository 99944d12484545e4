using Cloister.Build.Supervisor;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Supervision;

/// <summary>One supervisor run: a busybox image with the bundle, a launch spec in it, and a simulated host around it.</summary>
internal sealed class SupervisorScenario : IAsyncDisposable
{
    private SupervisorScenario(Rootfs rootfs, SimulatedHost host)
    {
        Rootfs = rootfs;
        Host = host;
    }

    public Rootfs Rootfs { get; }

    public SimulatedHost Host { get; }

    public static async Task<SupervisorScenario> CreateAsync(SupervisorBundle bundle, EnclaveManifest manifest, ImageRunConfig? image = null)
    {
        var rootfs = BusyboxImage.AddTo(Rootfs.WithBundle(bundle));
        var spec = new EnclaveLaunchSpec { Manifest = manifest, Image = image ?? new ImageRunConfig { Env = [$"PATH={BusyboxImage.Path}"] } };
        await File.WriteAllBytesAsync(rootfs.At(EnclavePaths.LaunchSpec.TrimStart('/')), EnclaveLaunchSpecJson.Serialize(spec));
        var host = await SimulatedHost.StartAsync();
        host.Attach(rootfs);
        return new SupervisorScenario(rootfs, host);
    }

    /// <summary>A manifest that runs <c>sh -c <paramref name="script"/></c>.</summary>
    public static EnclaveManifest Shell(string script, RestartPolicy restart = RestartPolicy.Never, IReadOnlyList<IngressPort>? ingress = null) => new()
    {
        Name = "test",
        Image = "busybox",
        Cmd = ["sh", "-c", script],
        Restart = restart,
        Ingress = ingress ?? [],
    };

    /// <summary>Runs the supervisor to its end; returns its result, every status event and every log record.</summary>
    public async Task<(ProcessResult Result, IReadOnlyList<StatusEvent> Statuses, IReadOnlyList<LogRecord> Logs)> RunAsync()
    {
        var result = await Task.Run(() => Rootfs.RunSupervisor(SimulatedHost.SupervisorEnvironment));
        return (result, await Host.AllStatusesAsync(), await Host.AllLogsAsync());
    }

    public SandboxedProcess Start() => Rootfs.StartSupervisor(SimulatedHost.SupervisorEnvironment);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Rootfs.Dispose();
    }
}

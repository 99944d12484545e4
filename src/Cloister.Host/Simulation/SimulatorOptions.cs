namespace Cloister.Host.Simulation;

/// <summary>How <see cref="SimulatorLauncher"/> runs one EIF; paths are used as given.</summary>
public sealed class SimulatorOptions
{
    /// <summary>The enclave image file.</summary>
    public required string ImagePath { get; init; }

    /// <summary>
    /// The run directory: the unpacked ramdisks (<c>root/</c>), the vsock sockets (<c>vsock/</c>) and the NSM socket
    /// (<c>nsm.sock</c>). It must be empty or missing; keep its path short, Unix socket paths hold 107 bytes.
    /// </summary>
    public required string RunDirectory { get; init; }

    /// <summary>Whether the run directory survives the enclave (for inspection); otherwise it is removed on dispose.</summary>
    public bool KeepRunDirectory { get; init; }

    /// <summary>The directory of the simulated root (<see cref="SimulatedRootStore"/>): loaded from there, or created there on first use.</summary>
    public required string SimulatedRootDirectory { get; init; }

    /// <summary>The external programs; <see cref="SandboxTools.Find"/> locates them.</summary>
    public required SandboxTools Tools { get; init; }

    /// <summary>The parent instance's IAM role ARN, measured into PCR3.</summary>
    public string? ParentRoleArn { get; init; }

    /// <summary>The parent instance id (<c>i-</c> and 17 hex digits), measured into PCR4; random when <see langword="null"/>.</summary>
    public string? ParentInstanceId { get; init; }

    /// <summary>How many CPUs the enclave may use (by CPU affinity); all when <see langword="null"/>.</summary>
    public int? Cpus { get; init; }

    /// <summary>The enclave's memory in MiB. Recorded, not enforced: the simulator has no memory limit (see <see cref="SimulatedEnclave.Warnings"/>).</summary>
    public int? MemoryMib { get; init; }

    /// <summary>Debug mode: as on Nitro, attestation documents then carry all-zero PCR0, PCR1 and PCR2.</summary>
    public bool Debug { get; init; }

    /// <summary>The CID the enclave gets.</summary>
    public uint Cid { get; init; } = Runtime.Simulation.SimulatedEnclaveContract.FirstCid;

    /// <summary>
    /// Receives each line the sandbox's own process writes to its stdout or stderr (what a Nitro enclave's console shows);
    /// the app's output normally arrives through the log stream instead. Called from a pool thread.
    /// </summary>
    public Action<string>? ConsoleLine { get; init; }

    /// <summary>
    /// Receives each line the simulator itself has to say while the enclave runs: why the simulated NSM could not answer
    /// a request (the enclave only sees the device's <c>InternalError</c>, as on Nitro). Called from a pool thread.
    /// </summary>
    public Action<string>? Notice { get; init; }
}

namespace Cloister.Runtime.Simulation;

/// <summary>
/// How the simulator tells the enclave supervisor it is simulated, and where its simulated devices are. On Nitro none
/// of these variables is set: the supervisor then uses AF_VSOCK and <c>/dev/nsm</c>.
/// </summary>
/// <remarks>
/// Inside the sandbox the run directory is always <see cref="RunDirectory"/>: the host bind-mounts its own run
/// directory's <c>vsock/</c> folder and NSM socket there, so the paths below never depend on the host's layout.
/// </remarks>
public static class SimulatedEnclaveContract
{
    /// <summary>The run directory as the supervisor sees it inside the sandbox.</summary>
    public const string RunDirectory = "/run/cloister";

    /// <summary>The NSM socket as the supervisor sees it (length-prefixed CBOR, the NSM's own requests and responses).</summary>
    public const string NsmSocketPath = RunDirectory + "/nsm.sock";

    /// <summary>Set (to the enclave's CID) only in simulation; its presence selects the Unix-socket vsock transport.</summary>
    public const string CidVariable = "CLOISTER_SIMULATED_CID";

    /// <summary>The first CID the simulator gives an enclave; Nitro assigns 16 and up too (0–3 are reserved).</summary>
    public const uint FirstCid = 16;
}

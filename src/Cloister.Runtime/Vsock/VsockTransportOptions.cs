namespace Cloister.Runtime.Vsock;

/// <summary>The caller's explicit choice of vsock transport; the library never guesses it from the environment.</summary>
public sealed class VsockTransportOptions
{
    /// <summary>Which transport to use.</summary>
    public required VsockTransportKind Kind { get; init; }

    /// <summary>The simulator's run directory, whose <c>vsock/</c> folder holds the sockets; required for <see cref="VsockTransportKind.Simulated"/>.</summary>
    public string? RunDirectory { get; init; }

    /// <summary>
    /// This side's CID in the simulation (<see cref="VsockEndpoint.HostCid"/> for the host, the enclave's CID inside it);
    /// required for <see cref="VsockTransportKind.Simulated"/>. Native sockets bind on <see cref="VsockEndpoint.AnyCid"/> instead.
    /// </summary>
    public uint? LocalCid { get; init; }
}

namespace Cloister.Host.Supervision;

/// <summary>How an enclave ended, as its launcher saw it.</summary>
/// <param name="ExitCode">The exit status of the enclave's process (the sandbox's in the simulator), or <see langword="null"/> when the launcher cannot know it (Nitro).</param>
/// <param name="Forced">Whether it had to be killed or terminated after the grace period.</param>
public sealed record EnclaveTermination(int? ExitCode, bool Forced);

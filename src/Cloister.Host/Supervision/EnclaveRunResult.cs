using Cloister.Runtime.Messages;

namespace Cloister.Host.Supervision;

/// <summary>How a supervised run ended.</summary>
/// <param name="ExitCode">The code <c>cloister run</c> exits with: the app's (from its <c>exited</c> status, 128 + signal when a signal ended it), else the enclave process's.</param>
/// <param name="Exited">The enclave's last <c>exited</c> status, or <see langword="null"/> when it sent none.</param>
/// <param name="Termination">How the enclave ended as its launcher saw it.</param>
/// <param name="StopRequested">Whether the host asked the enclave to stop (SIGTERM or SIGINT to <c>cloister run</c>).</param>
public sealed record EnclaveRunResult(int ExitCode, ExitedEvent? Exited, EnclaveTermination Termination, bool StopRequested)
{
    /// <summary>The reason of the enclave's <c>provisioning_refused</c> status, or <see langword="null"/> when it sent none.</summary>
    public string? ProvisioningRefusal { get; init; }
}

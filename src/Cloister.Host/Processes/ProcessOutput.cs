namespace Cloister.Host.Processes;

/// <summary>What a finished program left behind.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error.</param>
public sealed record ProcessOutput(int ExitCode, string Stdout, string Stderr);

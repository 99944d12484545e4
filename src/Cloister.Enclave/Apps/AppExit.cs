namespace Cloister.Enclave.Apps;

/// <summary>How a process ended: an exit code, or the signal that killed it.</summary>
internal readonly record struct AppExit(int? Code, int? Signal)
{
    /// <summary>Decodes a <c>waitpid</c> status (WIFEXITED / WIFSIGNALED).</summary>
    public static AppExit FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new AppExit((status >> 8) & 0xff, null) : new AppExit(null, status & 0x7f);

    public bool Succeeded => Code == 0;

    /// <summary>The shell's convention: the code, or 128 + the signal.</summary>
    public int ExitCode => Code ?? 128 + Signal!.Value;

    public override string ToString() => Code is { } code ? $"exit code {code}" : $"signal {Signal}";
}

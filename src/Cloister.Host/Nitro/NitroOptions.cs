namespace Cloister.Host.Nitro;

/// <summary>How <see cref="NitroLauncher"/> runs one EIF on Nitro hardware.</summary>
public sealed class NitroOptions
{
    /// <summary>The enclave image file.</summary>
    public required string ImagePath { get; init; }

    /// <summary>vCPUs for the enclave; the manifest's <c>resources.cpus</c> when <see langword="null"/>.</summary>
    public int? Cpus { get; init; }

    /// <summary>Memory for the enclave in MiB; the manifest's <c>resources.memory_mib</c> when <see langword="null"/>.</summary>
    public int? MemoryMib { get; init; }

    /// <summary>Debug mode: the console is readable, and the enclave's documents carry all-zero PCR0–2.</summary>
    public bool Debug { get; init; }

    /// <summary>The CID to ask for; nitro-cli picks one when <see langword="null"/>.</summary>
    public uint? Cid { get; init; }

    /// <summary>
    /// Whether this host answers AWS init's boot heartbeat on vsock 9000. <c>nitro-cli run-enclave</c> listens there and
    /// answers it itself, so this is off unless something other than nitro-cli starts the enclave.
    /// </summary>
    public bool AnswerHeartbeat { get; init; }

    /// <summary>How often <c>describe-enclaves</c> is asked whether the enclave still runs.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);
}

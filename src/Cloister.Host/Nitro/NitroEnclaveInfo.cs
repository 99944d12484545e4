namespace Cloister.Host.Nitro;

/// <summary>One enclave as <c>nitro-cli run-enclave</c> or <c>describe-enclaves</c> reports it.</summary>
/// <param name="EnclaveName">The name (<c>EnclaveName</c>).</param>
/// <param name="EnclaveId">The id that <c>terminate-enclave</c> takes (<c>EnclaveID</c>).</param>
/// <param name="ProcessId">The enclave process on the parent (<c>ProcessID</c>).</param>
/// <param name="Cid">The enclave's vsock CID (<c>EnclaveCID</c>).</param>
/// <param name="CpuCount">Its vCPUs (<c>NumberOfCPUs</c>).</param>
/// <param name="MemoryMib">Its memory (<c>MemoryMiB</c>).</param>
/// <param name="State"><c>RUNNING</c>, <c>TERMINATING</c>…; <see langword="null"/> in <c>run-enclave</c>'s answer, which has none.</param>
/// <param name="Flags"><c>NONE</c> or <c>DEBUG_MODE</c>; <see langword="null"/> when absent.</param>
public sealed record NitroEnclaveInfo(string EnclaveName, string EnclaveId, int ProcessId, uint Cid, int CpuCount, int MemoryMib, string? State, string? Flags);

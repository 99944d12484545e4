namespace Cloister.Attestation.Simulation;

/// <summary>What a <see cref="SoftwareNsm"/> holds at boot: the enclave's measurements and its parent's identity.</summary>
public sealed class SoftwareNsmOptions
{
    /// <summary>
    /// Boot-time PCR values (indexes 0–15, 48 bytes each) set as given: PCR0, 1, 2 and 8 as the EIF's measurement
    /// reports them, which are already <c>SHA384(0^48 ‖ digest)</c>, the value the NSM holds after its one extend.
    /// PCRs not given are zero, except 3 and 4 (see <see cref="ParentRoleArn"/> and <see cref="ParentInstanceId"/>).
    /// </summary>
    public IDictionary<int, byte[]> Pcrs { get; } = new Dictionary<int, byte[]>();

    /// <summary>
    /// The parent instance's IAM role ARN; PCR3 becomes <c>SHA384(0^48 ‖ UTF8(arn))</c>. When neither this nor
    /// <c>Pcrs[3]</c> is set, PCR3 stays zero, as on an instance without a role.
    /// </summary>
    public string? ParentRoleArn { get; set; }

    /// <summary>
    /// The parent instance id, <c>i-</c> and 17 lowercase hex digits; it starts the module id, and PCR4 becomes
    /// <c>SHA384(0^48 ‖ UTF8(id))</c> unless <c>Pcrs[4]</c> is set. A random id when <see langword="null"/>.
    /// </summary>
    public string? ParentInstanceId { get; set; }

    /// <summary>The region label in the simulated certificates' names.</summary>
    public string Region { get; set; } = "local";

    /// <summary>
    /// Whether document payloads use an indefinite-length map (<c>bf … ff</c>, Nitro hardware since mid-2025) rather
    /// than a definite one (<c>a9</c>, earlier hardware).
    /// </summary>
    public bool IndefiniteLengthPayload { get; set; } = true;
}

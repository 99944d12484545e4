namespace Cloister.Attestation.Nsm;

/// <summary>The variant names of the NSM's <c>Request</c> and <c>Response</c> enums, as they travel on the wire.</summary>
internal static class NsmVariants
{
    public const string DescribePcr = "DescribePCR";
    public const string ExtendPcr = "ExtendPCR";
    public const string LockPcr = "LockPCR";
    public const string LockPcrs = "LockPCRs";
    public const string DescribeNsm = "DescribeNSM";
    public const string Attestation = "Attestation";
    public const string GetRandom = "GetRandom";
    public const string Error = "Error";
}

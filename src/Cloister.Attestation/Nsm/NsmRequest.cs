namespace Cloister.Attestation.Nsm;

/// <summary>A request to the NSM (the Rust <c>Request</c> enum of aws-nitro-enclaves-nsm-api).</summary>
public abstract class NsmRequest : NsmMessage
{
    private protected NsmRequest()
    {
    }
}

namespace Cloister.Attestation.Nsm;

/// <summary>A response of the NSM (the Rust <c>Response</c> enum of aws-nitro-enclaves-nsm-api).</summary>
public abstract class NsmResponse : NsmMessage
{
    private protected NsmResponse()
    {
    }
}

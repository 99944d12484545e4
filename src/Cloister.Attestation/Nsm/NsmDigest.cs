namespace Cloister.Attestation.Nsm;

/// <summary>The digest of the NSM's PCR bank; travels as the text <c>"SHA256"</c>, <c>"SHA384"</c> or <c>"SHA512"</c>.</summary>
public enum NsmDigest
{
    /// <summary>SHA-256 (32-byte PCRs).</summary>
    Sha256,

    /// <summary>SHA-384 (48-byte PCRs), what every Nitro system uses.</summary>
    Sha384,

    /// <summary>SHA-512 (64-byte PCRs).</summary>
    Sha512,
}

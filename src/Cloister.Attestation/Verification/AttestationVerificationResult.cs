using Cloister.Attestation.Documents;

namespace Cloister.Attestation.Verification;

/// <summary>The outcome of verifying one document: success, or the first failed check and why.</summary>
public sealed class AttestationVerificationResult
{
    private AttestationVerificationResult(
        AttestationFailure failure, string? detail, SignedAttestationDocument? document, AttestationChain? chain, PcrMismatch? pcrMismatch)
    {
        Failure = failure;
        Detail = detail;
        Document = document;
        Chain = chain;
        PcrMismatch = pcrMismatch;
    }

    /// <summary>Whether every check passed.</summary>
    public bool IsValid => Failure == AttestationFailure.None;

    /// <summary>The failed check, or <see cref="AttestationFailure.None"/>.</summary>
    public AttestationFailure Failure { get; }

    /// <summary>A human-readable account of the failure (which field, certificate, time or value), or <see langword="null"/> on success.</summary>
    public string? Detail { get; }

    /// <summary>The decoded document, whenever decoding succeeded (also on later failures).</summary>
    public SignedAttestationDocument? Document { get; }

    /// <summary>The verified chain, whenever the chain check passed (also on later failures).</summary>
    public AttestationChain? Chain { get; }

    /// <summary>For <see cref="AttestationFailure.PcrMismatch"/>: the PCR index and both values.</summary>
    public PcrMismatch? PcrMismatch { get; }

    /// <summary>
    /// Whether the decoded document is from a debug-mode enclave (PCR0 all zeros). Reported whether or not a policy
    /// refused it.
    /// </summary>
    public bool IsDebugMode => Document?.Document.IsDebugMode == true;

    /// <summary><c>Valid</c>, or the failure's name and detail.</summary>
    public override string ToString() => IsValid ? "Valid" : $"{Failure}: {Detail}";

    internal static AttestationVerificationResult Valid(SignedAttestationDocument document, AttestationChain chain) =>
        new(AttestationFailure.None, null, document, chain, null);

    internal static AttestationVerificationResult Failed(
        AttestationFailure failure, string detail, SignedAttestationDocument? document = null, AttestationChain? chain = null,
        PcrMismatch? pcrMismatch = null) =>
        new(failure, detail, document, chain, pcrMismatch);
}

namespace Cloister.Attestation.Verification;

/// <summary>A document failed verification; <see cref="Result"/> says why.</summary>
public sealed class AttestationVerificationException : Exception
{
    /// <summary>Creates the exception for a failed result.</summary>
    /// <param name="result">The failed verification.</param>
    /// <exception cref="ArgumentNullException"><paramref name="result"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="result"/> is a success.</exception>
    public AttestationVerificationException(AttestationVerificationResult result)
        : base(Describe(result))
    {
        Result = result;
    }

    /// <summary>The failed result: the reason, its detail and whatever was decoded.</summary>
    public AttestationVerificationResult Result { get; }

    /// <summary>The reason, <see cref="AttestationVerificationResult.Failure"/> of <see cref="Result"/>.</summary>
    public AttestationFailure Failure => Result.Failure;

    private static string Describe(AttestationVerificationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.IsValid
            ? throw new ArgumentException("the verification succeeded", nameof(result))
            : $"attestation document rejected: {result.Failure}: {result.Detail}";
    }
}

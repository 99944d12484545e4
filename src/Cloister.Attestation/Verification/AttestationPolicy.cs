namespace Cloister.Attestation.Verification;

/// <summary>
/// What a relying party requires of an authentic document beyond authenticity: PCRs, debug mode and the three
/// caller-chosen fields. Unset members are not checked; byte comparisons take fixed time.
/// </summary>
public sealed class AttestationPolicy
{
    /// <summary>The PCR sets one of which the document must match, or <see langword="null"/> to not check PCRs.</summary>
    public PcrPolicy? Pcrs { get; init; }

    /// <summary>Whether a debug-mode document (PCR0 all zeros) is acceptable; <see langword="false"/> by default.</summary>
    public bool AllowDebugMode { get; init; }

    /// <summary>The nonce the document must carry, or <see langword="null"/> to not check it.</summary>
    public byte[]? ExpectedNonce { get; init; }

    /// <summary>The user_data the document must carry, or <see langword="null"/> to not check it.</summary>
    public byte[]? ExpectedUserData { get; init; }

    /// <summary>The public_key the document must carry, or <see langword="null"/> to not check it.</summary>
    public byte[]? ExpectedPublicKey { get; init; }
}

namespace Cloister.Attestation.Verification;

/// <summary>A chain whose links and root have been checked (times excepted), with pooled keys for its leaf.</summary>
internal sealed class VerifiedChain(AttestationChain summary, LeafKeyPool leafKeys)
{
    public AttestationChain Summary { get; } = summary;

    public LeafKeyPool LeafKeys { get; } = leafKeys;

    /// <summary>Insertion order in the cache, for evicting the oldest entry.</summary>
    public long Sequence { get; set; }
}

using Cloister.Encryption.Keys;

namespace Cloister.Enclave.LocalApi;

/// <summary>What the local API serves beyond <c>/attestation-doc</c>, and its crypto bounds (docs/encryption.md).</summary>
internal sealed record LocalApiOptions
{
    /// <summary>The default <see cref="MaxCryptoBodyLength"/>: 16 MiB.</summary>
    public const int DefaultMaxCryptoBodyLength = 16 << 20;

    /// <summary>Whether <c>/attestation-doc</c> is served (<c>api.attestation</c>); without it the path answers 404.</summary>
    public bool Attestation { get; init; } = true;

    /// <summary>The deployment's key ring (<c>api.crypto</c>); without it <c>/encrypt</c> and <c>/decrypt</c> answer 404.</summary>
    public DeploymentKeyRing? Keys { get; init; }

    /// <summary>The largest <c>/encrypt</c> or <c>/decrypt</c> body; a larger one gets 413.</summary>
    public int MaxCryptoBodyLength { get; init; } = DefaultMaxCryptoBodyLength;

    /// <summary>
    /// How many <c>/encrypt</c> and <c>/decrypt</c> requests are served at once; one more gets 503 with Retry-After.
    /// Crypto is CPU-bound, so more than a few per core only adds buffered bodies (each up to
    /// <see cref="MaxCryptoBodyLength"/>, plus its output) without adding throughput.
    /// </summary>
    public int MaxConcurrentCryptoRequests { get; init; } = 4 * Environment.ProcessorCount;
}

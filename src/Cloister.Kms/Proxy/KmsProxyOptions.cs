namespace Cloister.Kms.Proxy;

/// <summary>How the proxy reuses its recipient key (docs/kms.md, "Recipient key reuse").</summary>
public sealed class KmsProxyOptions
{
    /// <summary>How long one recipient key and its attestation document serve calls; zero for a fresh key per call. Default 60 s.</summary>
    public TimeSpan RecipientKeyLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many calls one recipient key serves at most. Default 10,000.</summary>
    public long RecipientKeyMaxUses { get; init; } = 10_000;

    /// <summary>The clock of <see cref="RecipientKeyLifetime"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

namespace Cloister.Enclave.Provisioning;

/// <summary>The bounds of <see cref="ProvisioningClient"/>; a production enclave keeps the defaults.</summary>
internal sealed record ProvisioningClientOptions
{
    /// <summary>How long transport errors are retried before provisioning fails for good.</summary>
    public TimeSpan RetryBound { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The wait after the first failed attempt; it doubles after each further one, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(16);

    /// <summary>The bound on one attempt: token, document, connection, handshake, request and answer.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for the retry bound and the waits.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

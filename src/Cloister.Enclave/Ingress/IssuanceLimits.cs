namespace Cloister.Enclave.Ingress;

/// <summary>
/// The bounds on the expensive path: every nonce certificate and every <c>?nonce=</c> document costs an NSM call (and a
/// certificate a key generation and a signature). The numbers are shared by all attested ports, as the NSM is.
/// </summary>
internal sealed record IssuanceLimits
{
    /// <summary>Issues running at once: one per CPU, as issuing is CPU work plus a short NSM call.</summary>
    public int Concurrency { get; init; } = Environment.ProcessorCount;

    /// <summary>How long a request waits for a free slot before it is refused: short, so a flood fails fast.</summary>
    public TimeSpan SlotWait { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The token bucket's size: a burst of new clients all asking at once.</summary>
    public int Burst { get; init; } = 64;

    /// <summary>The sustained rate, per second.</summary>
    public double PerSecond { get; init; } = 32;

    /// <summary>At most one refusal line per this interval reaches the log, with a count of those held back.</summary>
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(10);
}

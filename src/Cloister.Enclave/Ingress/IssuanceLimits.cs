using Cloister.Runtime.Logging;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// The bounds on the expensive path: every nonce certificate and every <c>?nonce=</c> document costs an NSM call (and a
/// certificate a key generation and a signature). The numbers are shared by all attested ports, as the NSM is. The
/// supervisor takes them as options (<see cref="AttestedIngressOptions.Limits"/>); docs/attested-tls.md explains them.
/// </summary>
internal sealed record IssuanceLimits
{
    /// <summary>Issues running at once: one per CPU, as issuing is CPU work plus a short NSM call.</summary>
    public int Concurrency { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// How many issues may wait for a slot or a token at once; one more is refused at once. A burst of new clients
    /// queues; a flood beyond this does not hold connections open for nothing.
    /// </summary>
    public int QueueLength { get; init; } = 256;

    /// <summary>
    /// How long an issue may wait to start: one that has not started by then is refused, and one that cannot start by
    /// then (its token comes later, or the issues ahead of it take longer) is refused at once.
    /// </summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The token bucket's size: a burst of new clients all asking at once.</summary>
    public int Burst { get; init; } = 256;

    /// <summary>The sustained rate, per second: what a flood gets, however long it lasts.</summary>
    public double PerSecond { get; init; } = 32;

    /// <summary>Refusals are logged at most once per this interval; the rest are counted into one line when it ends.</summary>
    public TimeSpan LogInterval { get; init; } = LogThrottle.DefaultInterval;

    /// <summary>The first bound out of range, as <c>name: why</c>; <see langword="null"/> when all are usable.</summary>
    public string? FindError() =>
        Concurrency < 1 ? $"Concurrency: {Concurrency} is not at least 1"
        : QueueLength < 0 ? $"QueueLength: {QueueLength} is negative"
        : QueueWait < TimeSpan.Zero ? $"QueueWait: {QueueWait} is negative"
        : Burst < 1 ? $"Burst: {Burst} is not at least 1"
        : !(PerSecond > 0) || double.IsInfinity(PerSecond) ? $"PerSecond: {PerSecond} is not a positive rate"
        : LogInterval <= TimeSpan.Zero ? $"LogInterval: {LogInterval} is not positive"
        : null;
}

using System.Globalization;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Admits issues of fresh documents and certificates: a token bucket bounds their rate and a semaphore their
/// concurrency, with a short wait for a slot. A refusal is immediate (or after the short wait) and is logged, throttled.
/// </summary>
internal sealed class IssuanceGuard : IDisposable
{
    private readonly IssuanceLimits _limits;
    private readonly SemaphoreSlim _slots;
    private readonly TokenBucket _bucket;
    private readonly LogThrottle _refusals;

    public IssuanceGuard(IssuanceLimits limits, TimeProvider timeProvider, Func<string, Task> log)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.Concurrency);
        _limits = limits;
        _slots = new SemaphoreSlim(limits.Concurrency, limits.Concurrency);
        _bucket = new TokenBucket(limits.Burst, limits.PerSecond, timeProvider);
        _refusals = new LogThrottle(log, limits.LogInterval, timeProvider);
    }

    /// <summary>
    /// A slot to issue in, to be disposed when the issue is done; or, when over a bound, a refused slot whose
    /// <see cref="IssuanceSlot.Refusal"/> says which (already logged).
    /// </summary>
    /// <param name="what">What is being issued and for whom, for the log line.</param>
    public async ValueTask<IssuanceSlot> EnterAsync(string what, CancellationToken cancellationToken)
    {
        if (!_bucket.TryTake())
        {
            return await RefuseAsync(what, string.Create(CultureInfo.InvariantCulture, $"over the rate limit ({_limits.PerSecond:0.###}/s, burst {_limits.Burst})"));
        }

        if (!await _slots.WaitAsync(_limits.SlotWait, cancellationToken))
        {
            return await RefuseAsync(what, string.Create(CultureInfo.InvariantCulture, $"all {_limits.Concurrency} issuing slots stayed busy for {_limits.SlotWait.TotalMilliseconds:0} ms"));
        }

        return new IssuanceSlot(_slots, null);
    }

    public void Dispose() => _slots.Dispose();

    private async ValueTask<IssuanceSlot> RefuseAsync(string what, string reason)
    {
        await _refusals.WriteAsync($"refused {what}: {reason}");
        return new IssuanceSlot(null, reason);
    }
}

/// <summary>An admitted issue (release it by disposing) or a refusal.</summary>
internal readonly struct IssuanceSlot(SemaphoreSlim? slots, string? refusal) : IDisposable
{
    /// <summary>Why the issue was refused; <see langword="null"/> when it was admitted.</summary>
    public string? Refusal => refusal;

    public void Dispose() => slots?.Release();
}

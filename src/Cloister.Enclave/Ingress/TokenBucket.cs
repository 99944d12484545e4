namespace Cloister.Enclave.Ingress;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>'s clock: up to <c>capacity</c> takes at once, refilled continuously at
/// <c>refillPerSecond</c>. Taking never waits; an empty bucket just says no.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly double _capacity;
    private readonly double _refillPerSecond;
    private readonly TimeProvider _timeProvider;
    private double _tokens;
    private long _refilledAt;

    public TokenBucket(int capacity, double refillPerSecond, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(refillPerSecond);
        _capacity = capacity;
        _refillPerSecond = refillPerSecond;
        _timeProvider = timeProvider;
        _tokens = capacity;
        _refilledAt = timeProvider.GetTimestamp();
    }

    /// <summary>Takes one token when there is one.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            Refill();
            if (_tokens < 1)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }

    /// <summary>
    /// How long until <paramref name="count"/> takes in a row can all have succeeded: the tokens in the bucket first, then
    /// the refill (however many the bucket holds, as each is taken when it comes). Zero when the bucket holds them now.
    /// </summary>
    public TimeSpan TimeUntil(int count)
    {
        lock (_lock)
        {
            Refill();
            return _tokens >= count ? TimeSpan.Zero : TimeSpan.FromSeconds((count - _tokens) / _refillPerSecond);
        }
    }

    private void Refill()
    {
        var now = _timeProvider.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + (_timeProvider.GetElapsedTime(_refilledAt, now).TotalSeconds * _refillPerSecond));
        _refilledAt = now;
    }
}

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
            var now = _timeProvider.GetTimestamp();
            _tokens = Math.Min(_capacity, _tokens + (_timeProvider.GetElapsedTime(_refilledAt, now).TotalSeconds * _refillPerSecond));
            _refilledAt = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }
}

using System.Globalization;
using Cloister.Runtime.Logging;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Admits issues of fresh documents and certificates. Each takes a token from a bucket (the rate) and a slot (the
/// concurrency); one that cannot have both at once waits its turn in a bounded first-come queue, for at most
/// <see cref="IssuanceLimits.QueueWait"/>. So a burst of new clients is served in turn, while a flood is refused: at once
/// when the queue is full or when the newcomer could not start in time (its token comes later, or the issues ahead of it
/// take longer), otherwise when its wait runs out. Refusals are logged, throttled.
/// </summary>
internal sealed class IssuanceGuard : IAsyncDisposable
{
    // How far each finished issue moves the estimate of how long one takes (TCP smooths its round-trip time the same way).
    private const double EstimateWeight = 1.0 / 8;

    // The token timer never fires sooner than this: a token due "now" by one clock reading may be a hair short by the next.
    private static readonly TimeSpan s_minimumTokenWait = TimeSpan.FromMilliseconds(1);

    private readonly Lock _lock = new();
    private readonly IssuanceLimits _limits;
    private readonly TimeProvider _timeProvider;
    private readonly TokenBucket _bucket;
    private readonly LinkedList<Waiter> _queue = new();
    private readonly ITimer _tokenTimer;
    private readonly LogThrottle _refusals;
    private int _freeSlots;
    private TimeSpan _typicalIssue;
    private bool _measured;
    private bool _disposed;

    /// <exception cref="ArgumentException"><paramref name="limits"/> has a bound out of range (<see cref="IssuanceLimits.FindError"/>).</exception>
    public IssuanceGuard(IssuanceLimits limits, TimeProvider timeProvider, Func<string, Task> log)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (limits.FindError() is { } error)
        {
            throw new ArgumentException(error, nameof(limits));
        }

        _limits = limits;
        _timeProvider = timeProvider;
        _freeSlots = limits.Concurrency;
        _bucket = new TokenBucket(limits.Burst, limits.PerSecond, timeProvider);
        _tokenTimer = timeProvider.CreateTimer(_ => Pump(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _refusals = new LogThrottle(log, limits.LogInterval, timeProvider);
    }

    /// <summary>How many issues are waiting for a slot or a token now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// A slot to issue in, to be disposed when the issue is done; or, when over a bound, a refused slot whose
    /// <see cref="IssuanceSlot.Refusal"/> says which (already logged). Waits at most <see cref="IssuanceLimits.QueueWait"/>.
    /// </summary>
    /// <param name="what">What is being issued and for whom, for the log line.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the guard disposed, while waiting.</exception>
    /// <exception cref="ObjectDisposedException">The guard was disposed before.</exception>
    public async ValueTask<IssuanceSlot> EnterAsync(string what, CancellationToken cancellationToken)
    {
        var waiter = new Waiter();
        string? refusal;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_queue.Count == 0 && TryStart() is { } slot)
            {
                return slot;
            }

            refusal = RefusalOfNewcomer();
            if (refusal is null)
            {
                waiter.Node = _queue.AddLast(waiter);
                WaitForToken();
            }
        }

        if (refusal is not null)
        {
            return await RefuseAsync(what, refusal);
        }

        IssuanceSlot? started;
        using (var deadline = new CancellationTokenSource(_limits.QueueWait, _timeProvider))
        using (deadline.Token.Register(() => Leave(waiter, cancelled: null)))
        using (cancellationToken.Register(() => Leave(waiter, cancellationToken)))
        {
            started = await waiter.Started.Task;
        }

        return started ?? await RefuseAsync(what, string.Create(CultureInfo.InvariantCulture, $"it did not start within {_limits.QueueWait.TotalSeconds:0.###} s"));
    }

    /// <summary>Ends an issue: called once by its <see cref="IssuanceSlot"/>. The slot goes to the next waiter.</summary>
    public void Release(long startedAt)
    {
        lock (_lock)
        {
            var took = _timeProvider.GetElapsedTime(startedAt);
            _typicalIssue = _measured ? (_typicalIssue * (1 - EstimateWeight)) + (took * EstimateWeight) : took;
            _measured = true;
            _freeSlots++;
        }

        Pump();
    }

    public async ValueTask DisposeAsync()
    {
        List<Waiter> abandoned;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            abandoned = [.. _queue];
            _queue.Clear();
        }

        abandoned.ForEach(waiter => waiter.Started.TrySetCanceled());
        await _tokenTimer.DisposeAsync();
        await _refusals.DisposeAsync();
    }

    // Under the lock.
    private IssuanceSlot? TryStart()
    {
        if (_freeSlots == 0 || !_bucket.TryTake())
        {
            return null;
        }

        _freeSlots--;
        return new IssuanceSlot(this, _timeProvider.GetTimestamp(), refusal: null);
    }

    // Under the lock: why one more waiter would be turned away at once, or null. Its wait is estimated as the later of
    // its token (one each for it and everyone ahead) and its slot (the issues ahead, Concurrency at a time, each taking
    // what issues have taken lately).
    private string? RefusalOfNewcomer()
    {
        if (_queue.Count >= _limits.QueueLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{_limits.QueueLength} issues are waiting already");
        }

        var position = _queue.Count + 1;
        var tokenWait = _bucket.TimeUntil(position);
        var rounds = position <= _freeSlots ? 0 : ((position - _freeSlots) + _limits.Concurrency - 1) / _limits.Concurrency;
        var slotWait = _typicalIssue * rounds;
        var wait = tokenWait > slotWait ? tokenWait : slotWait;
        return wait <= _limits.QueueWait ? null : string.Create(
            CultureInfo.InvariantCulture,
            $"it could not start within {_limits.QueueWait.TotalSeconds:0.###} s ({_queue.Count} waiting ahead; {_limits.Concurrency} at once, {_limits.PerSecond:0.###}/s, burst {_limits.Burst})");
    }

    // Starts as many waiters, first come first, as there are slots and tokens for.
    private void Pump()
    {
        lock (_lock)
        {
            while (!_disposed && _queue.First is { } head && TryStart() is { } slot)
            {
                _queue.RemoveFirst();
                head.Value.Node = null;
                head.Value.Started.TrySetResult(slot);
            }

            WaitForToken();
        }
    }

    // Under the lock: a waiter that has a slot but no token is started by a timer when its token comes; one without a slot, by a release.
    private void WaitForToken()
    {
        if (_queue.Count > 0 && _freeSlots > 0)
        {
            var due = _bucket.TimeUntil(1);
            _tokenTimer.Change(due > s_minimumTokenWait ? due : s_minimumTokenWait, Timeout.InfiniteTimeSpan);
        }
    }

    // The waiter's deadline passed (cancelled null) or its caller gave up; nothing happens when it has started already.
    private void Leave(Waiter waiter, CancellationToken? cancelled)
    {
        lock (_lock)
        {
            if (waiter.Node is not { } node)
            {
                return;
            }

            _queue.Remove(node);
            waiter.Node = null;
        }

        if (cancelled is { } token)
        {
            waiter.Started.TrySetCanceled(token);
        }
        else
        {
            waiter.Started.TrySetResult(null);
        }
    }

    private async ValueTask<IssuanceSlot> RefuseAsync(string what, string reason)
    {
        await _refusals.WriteAsync($"refused {what}: {reason}");
        return new IssuanceSlot(null, 0, reason);
    }

    private sealed class Waiter
    {
        // Completed with a slot, or with null when its wait ran out; its continuations never run under the guard's lock.
        public TaskCompletionSource<IssuanceSlot?> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // In the queue while set; changed under the guard's lock.
        public LinkedListNode<Waiter>? Node { get; set; }
    }
}

/// <summary>An admitted issue (release it by disposing) or a refusal.</summary>
internal sealed class IssuanceSlot(IssuanceGuard? guard, long startedAt, string? refusal) : IDisposable
{
    private int _released;

    /// <summary>Why the issue was refused; <see langword="null"/> when it was admitted.</summary>
    public string? Refusal => refusal;

    public void Dispose()
    {
        if (guard is not null && Interlocked.Exchange(ref _released, 1) == 0)
        {
            guard.Release(startedAt);
        }
    }
}

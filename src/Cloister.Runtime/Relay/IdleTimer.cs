namespace Cloister.Runtime.Relay;

/// <summary>
/// Cancels a relay once it has carried nothing for its idle timeout. Activity is a timestamp written per transfer; the one
/// timer only compares it when it fires and re-arms itself for the rest, so traffic never touches the timer queue.
/// </summary>
internal sealed class IdleTimer : IAsyncDisposable
{
    private readonly TimeProvider _clock;
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _stop;
    private readonly ITimer _timer;
    private long _lastActivity;
    private int _expired;

    private IdleTimer(TimeProvider clock, TimeSpan timeout, CancellationTokenSource stop)
    {
        _clock = clock;
        _timeout = timeout;
        _stop = stop;
        _lastActivity = clock.GetTimestamp();
        // Armed only once assigned: a check that ran first would find no timer to re-arm.
        _timer = clock.CreateTimer(static state => ((IdleTimer)state!).Check(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Whether the timer ended the relay.</summary>
    public bool Expired => Volatile.Read(ref _expired) != 0;

    /// <summary>A timer that cancels <paramref name="stop"/> after <paramref name="timeout"/> without activity; none for an infinite timeout.</summary>
    public static IdleTimer? Start(TimeProvider clock, TimeSpan timeout, CancellationTokenSource stop) =>
        timeout == Timeout.InfiniteTimeSpan ? null : new IdleTimer(clock, timeout, stop);

    public void Touch() => Volatile.Write(ref _lastActivity, _clock.GetTimestamp());

    /// <summary>Stops the timer and waits for a check in progress, so it never cancels a disposed source.</summary>
    public ValueTask DisposeAsync() => _timer.DisposeAsync();

    private void Check()
    {
        var quiet = _clock.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (quiet < _timeout)
        {
            _timer.Change(_timeout - quiet, Timeout.InfiniteTimeSpan);
            return;
        }

        Volatile.Write(ref _expired, 1);
        _stop.Cancel();
    }
}

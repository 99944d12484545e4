using System.Globalization;

namespace Cloister.Runtime.Logging;

/// <summary>
/// Throttles one kind of log line (one port's broken connections, one guard's refusals): a flood of failing connections
/// must not become a flood of log lines over the host link or on the host's console. The first line after a quiet
/// interval goes out at once; the lines that follow within the interval are only counted, and when it ends one line
/// reports them all — the last of them, with <c>… and 2,450 more like it in the last 10 s</c> — and a new interval
/// begins. A flood thus costs one line per interval however long it lasts, nothing is dropped without being counted,
/// and an interval without lines ends the throttling.
/// </summary>
public sealed class LogThrottle : IAsyncDisposable
{
    /// <summary>The interval Cloister's own throttles use: a flood costs six lines a minute.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly Func<string, Task> _log;
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;
    private bool _throttling;
    private bool _disposed;
    private long _held;
    private string? _lastHeld;
    private Task _reporting = Task.CompletedTask;

    /// <summary>Creates a throttle that writes through <paramref name="log"/>.</summary>
    /// <param name="log">Where lines go; called by one line at a time per interval, from the caller's or a timer's thread.</param>
    /// <param name="interval">How long after a line the next ones are only counted.</param>
    /// <param name="timeProvider">The clock whose timer ends each interval.</param>
    /// <exception cref="ArgumentNullException"><paramref name="log"/> or <paramref name="timeProvider"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public LogThrottle(Func<string, Task> log, TimeSpan interval, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _log = log;
        _interval = interval;
        _timer = timeProvider.CreateTimer(_ => EndInterval(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A throttle for a synchronous sink, such as the host's notices.</summary>
    /// <param name="log">Where lines go.</param>
    /// <param name="interval">How long after a line the next ones are only counted.</param>
    /// <param name="timeProvider">The clock whose timer ends each interval.</param>
    /// <returns>The throttle.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="log"/> or <paramref name="timeProvider"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public static LogThrottle ForAction(Action<string> log, TimeSpan interval, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(log);
        return new LogThrottle(line => { log(line); return Task.CompletedTask; }, interval, timeProvider);
    }

    /// <summary>Writes <paramref name="line"/>, or only counts it while an interval is running.</summary>
    /// <param name="line">The line.</param>
    /// <returns>The sink's task when the line was written, else a completed task.</returns>
    public Task WriteAsync(string line)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                // Nothing would report a held line any more; the owner is shutting down, so lines are few.
                return _log(line);
            }

            if (_throttling)
            {
                _held++;
                _lastHeld = line;
                return Task.CompletedTask;
            }

            _throttling = true;
            _timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }

        return _log(line);
    }

    /// <summary>Stops the timer and reports what the running interval held back.</summary>
    /// <returns>A task that completes once that report (and any report under way) is written.</returns>
    public async ValueTask DisposeAsync()
    {
        string? report;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            report = TakeReport();
        }

        await _timer.DisposeAsync();
        await _reporting;
        if (report is not null)
        {
            await _log(report);
        }
    }

    private void EndInterval()
    {
        string? report;
        lock (_lock)
        {
            report = _disposed ? null : TakeReport();
            if (report is null)
            {
                _throttling = false;
                return;
            }

            // A report starts an interval of its own: a flood that goes on is reported once per interval.
            _timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }

        _reporting = _log(report);
    }

    // Called under the lock.
    private string? TakeReport()
    {
        if (_held == 0)
        {
            return null;
        }

        var report = _held == 1
            ? _lastHeld!
            : string.Create(CultureInfo.InvariantCulture, $"{_lastHeld} … and {_held - 1:N0} more like it in the last {_interval.TotalSeconds:0.###} s");
        _held = 0;
        _lastHeld = null;
        return report;
    }
}

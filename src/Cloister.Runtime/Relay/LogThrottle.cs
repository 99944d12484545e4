using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Cloister.Runtime.Relay;

/// <summary>
/// Lets one log line through per interval for an event that can repeat as fast as a peer can cause it (a refusal over a
/// limit), and counts the ones held back so the next line can say how many there were.
/// </summary>
public sealed class LogThrottle
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private long _lastLogged;
    private bool _loggedAny;
    private long _heldBack;

    /// <summary>Creates a throttle.</summary>
    /// <param name="interval">The least time between two lines.</param>
    /// <param name="clock">The clock; the system's when <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is negative.</exception>
    public LogThrottle(TimeSpan interval, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        _interval = interval;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Counts one occurrence and decides whether it gets a line.</summary>
    /// <param name="message">What to log for it.</param>
    /// <param name="line">
    /// When it does: <paramref name="message"/>, followed by <c> (N more since the last line)</c> when occurrences were held
    /// back since the previous line.
    /// </param>
    /// <returns><see langword="true"/> when this occurrence is to be logged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is <see langword="null"/>.</exception>
    public bool TryEnter(string message, [NotNullWhen(true)] out string? line)
    {
        ArgumentNullException.ThrowIfNull(message);
        var now = _clock.GetTimestamp();
        long heldBack;
        lock (_gate)
        {
            if (_loggedAny && _clock.GetElapsedTime(_lastLogged, now) < _interval)
            {
                _heldBack++;
                line = null;
                return false;
            }

            heldBack = _heldBack;
            _heldBack = 0;
            _lastLogged = now;
            _loggedAny = true;
        }

        line = heldBack == 0 ? message : string.Create(CultureInfo.InvariantCulture, $"{message} ({heldBack} more since the last line)");
        return true;
    }
}

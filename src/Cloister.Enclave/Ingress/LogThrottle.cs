using System.Globalization;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Lets through at most one line per interval for one kind of event, and says how many it held back: a flood of refused
/// handshakes must not become a flood of log lines over the host link.
/// </summary>
internal sealed class LogThrottle(Func<string, Task> log, TimeSpan interval, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private long _lastWritten = long.MinValue;
    private long _suppressed;

    /// <summary>Writes <paramref name="line"/> unless a line went out less than the interval ago; then only counts it.</summary>
    public Task WriteAsync(string line)
    {
        long suppressed;
        lock (_lock)
        {
            var now = timeProvider.GetTimestamp();
            if (_lastWritten != long.MinValue && timeProvider.GetElapsedTime(_lastWritten, now) < interval)
            {
                _suppressed++;
                return Task.CompletedTask;
            }

            _lastWritten = now;
            suppressed = _suppressed;
            _suppressed = 0;
        }

        return log(suppressed == 0
            ? line
            : string.Create(CultureInfo.InvariantCulture, $"{line} ({suppressed} more like it in the last {interval.TotalSeconds:0} s)"));
    }
}

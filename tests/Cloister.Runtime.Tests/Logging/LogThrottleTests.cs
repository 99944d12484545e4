using Cloister.Runtime.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Runtime.Tests.Logging;

public sealed class LogThrottleTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _lines = [];

    [Fact]
    public async Task The_first_line_goes_out_at_once_and_the_rest_of_the_interval_is_reported_in_one_line_when_it_ends()
    {
        await using var throttle = Create();

        await throttle.WriteAsync("broke 1");
        await throttle.WriteAsync("broke 2");
        await throttle.WriteAsync("broke 3");
        await throttle.WriteAsync("broke 4");
        Assert.Equal(["broke 1"], _lines);

        _time.Advance(s_interval);
        Assert.Equal(["broke 1", "broke 4 … and 2 more like it in the last 10 s"], _lines);
    }

    [Fact]
    public async Task Thousands_of_lines_in_a_flood_cost_one_line_per_interval_with_the_count_grouped()
    {
        await using var throttle = Create();

        for (var second = 0; second < 30; second++)
        {
            for (var i = 0; i < 1000; i++)
            {
                await throttle.WriteAsync("the connection broke");
            }

            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // 30 000 lines in 30 s: the first at once, then one report for each full interval.
        Assert.Equal(
            [
                "the connection broke",
                "the connection broke … and 9,998 more like it in the last 10 s",
                "the connection broke … and 9,999 more like it in the last 10 s",
                "the connection broke … and 9,999 more like it in the last 10 s",
            ],
            _lines);
    }

    [Fact]
    public async Task A_quiet_interval_ends_the_throttling_and_a_lone_held_line_is_reported_as_itself()
    {
        await using var throttle = Create();

        await throttle.WriteAsync("first");
        await throttle.WriteAsync("second");
        _time.Advance(s_interval);
        _time.Advance(s_interval);
        await throttle.WriteAsync("after a quiet interval");

        Assert.Equal(["first", "second", "after a quiet interval"], _lines);
    }

    [Fact]
    public async Task Disposing_reports_what_the_running_interval_held_and_later_lines_pass_unthrottled()
    {
        var throttle = Create();
        await throttle.WriteAsync("one");
        await throttle.WriteAsync("two");
        await throttle.WriteAsync("three");

        await throttle.DisposeAsync();
        await throttle.WriteAsync("while shutting down");
        _time.Advance(s_interval);

        Assert.Equal(["one", "three … and 1 more like it in the last 10 s", "while shutting down"], _lines);
    }

    [Fact]
    public async Task A_synchronous_sink_gets_the_same_lines()
    {
        var lines = new List<string>();
        await using var throttle = LogThrottle.ForAction(lines.Add, s_interval, _time);

        await throttle.WriteAsync("a");
        await throttle.WriteAsync("b");
        await throttle.WriteAsync("c");
        _time.Advance(s_interval);

        Assert.Equal(["a", "c … and 1 more like it in the last 10 s"], lines);
    }

    private LogThrottle Create() => new(
        line =>
        {
            lock (_lines)
            {
                _lines.Add(line);
            }

            return Task.CompletedTask;
        },
        s_interval,
        _time);
}

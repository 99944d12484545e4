using Cloister.Runtime.Relay;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Runtime.Tests.Relay;

public sealed class LogThrottleTests
{
    [Fact]
    public void One_line_per_interval_and_the_next_line_counts_what_was_held_back()
    {
        var clock = new FakeTimeProvider();
        var throttle = new LogThrottle(TimeSpan.FromSeconds(10), clock);

        Assert.True(throttle.TryEnter("refused", out var first));
        Assert.Equal("refused", first);
        Assert.False(throttle.TryEnter("refused", out _));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(throttle.TryEnter("refused", out _));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.TryEnter("refused", out var second));
        Assert.Equal("refused (2 more since the last line)", second);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(throttle.TryEnter("refused", out var third));
        Assert.Equal("refused", third);
    }

    [Fact]
    public void A_zero_interval_logs_everything()
    {
        var throttle = new LogThrottle(TimeSpan.Zero, new FakeTimeProvider());

        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(throttle.TryEnter("x", out var line) && line == "x"));
    }
}

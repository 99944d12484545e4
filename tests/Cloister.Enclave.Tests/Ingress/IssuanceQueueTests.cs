using System.Collections.Concurrent;
using Cloister.Enclave.Ingress;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>The guard's queue on its own, on a fake clock: who starts, who waits, who is refused, and when (in clock terms).</summary>
public sealed class IssuanceQueueTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly ConcurrentQueue<string> _logs = new();
    private IssuanceGuard? _guard;

    public async ValueTask DisposeAsync()
    {
        if (_guard is not null)
        {
            await _guard.DisposeAsync();
        }
    }

    [Fact]
    public async Task Waiters_beyond_the_free_slots_start_in_arrival_order_as_slots_are_released()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 1 });
        var first = await guard.EnterAsync("first", CancellationToken.None);
        var second = guard.EnterAsync("second", CancellationToken.None).AsTask();
        var third = guard.EnterAsync("third", CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);

        first.Dispose();
        using (var started = await second)
        {
            Assert.Null(started.Refusal);
            Assert.False(third.IsCompleted);
        }

        using var last = await third;
        Assert.Null(last.Refusal);
        Assert.Empty(_logs);
    }

    [Fact]
    public async Task A_full_queue_refuses_the_next_at_once()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 1, QueueLength = 2 });
        using var running = await guard.EnterAsync("running", CancellationToken.None);
        var waiting = new[] { guard.EnterAsync("a", CancellationToken.None).AsTask(), guard.EnterAsync("b", CancellationToken.None).AsTask() };

        var refused = guard.EnterAsync("c", CancellationToken.None);

        Assert.True(refused.IsCompleted);
        Assert.Equal("2 issues are waiting already", (await refused).Refusal);
        Assert.Equal(["refused c: 2 issues are waiting already"], _logs);
        Assert.All(waiting, task => Assert.False(task.IsCompleted));
    }

    [Fact]
    public async Task A_waiter_whose_wait_runs_out_is_refused_and_the_queue_moves_on()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 1, QueueWait = TimeSpan.FromSeconds(2) });
        var running = await guard.EnterAsync("running", CancellationToken.None);
        var early = guard.EnterAsync("early", CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(1));
        var late = guard.EnterAsync("late", CancellationToken.None).AsTask();

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("it did not start within 2 s", (await early).Refusal);
        Assert.False(late.IsCompleted);
        running.Dispose();
        using var started = await late;
        Assert.Null(started.Refusal);
    }

    [Fact]
    public async Task Tokens_are_waited_for_in_turn_and_a_newcomer_whose_token_comes_too_late_is_refused_at_once()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 8, Burst = 2, PerSecond = 1, QueueWait = TimeSpan.FromSeconds(3.5) });
        using var first = await guard.EnterAsync("first", CancellationToken.None);
        using var second = await guard.EnterAsync("second", CancellationToken.None);
        // Their tokens come at 1, 2 and 3 s, within the wait; a fourth's would come at 4 s, past it.
        var queued = Enumerable.Range(0, 3).Select(i => guard.EnterAsync($"queued {i}", CancellationToken.None).AsTask()).ToList();

        var refused = guard.EnterAsync("fourth", CancellationToken.None);

        Assert.True(refused.IsCompleted);
        Assert.Equal("it could not start within 3.5 s (3 waiting ahead; 8 at once, 1/s, burst 2)", (await refused).Refusal);
        for (var i = 0; i < queued.Count; i++)
        {
            Assert.False(queued[i].IsCompleted);
            _time.Advance(TimeSpan.FromSeconds(1));
            using var started = await queued[i];
            Assert.Null(started.Refusal);
            Assert.All(queued.Skip(i + 1), task => Assert.False(task.IsCompleted));
        }
    }

    [Fact]
    public async Task A_newcomer_is_refused_at_once_when_the_issues_ahead_of_it_would_take_longer_than_the_wait()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 1, QueueWait = TimeSpan.FromSeconds(3.5) });
        // One issue that took 1 s: the estimate of the next ones.
        using (await guard.EnterAsync("measured", CancellationToken.None))
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        using var running = await guard.EnterAsync("running", CancellationToken.None);
        var queued = Enumerable.Range(0, 3).Select(i => guard.EnterAsync($"queued {i}", CancellationToken.None).AsTask()).ToList();
        var refused = guard.EnterAsync("fourth", CancellationToken.None);

        Assert.True(refused.IsCompleted);
        Assert.Equal("it could not start within 3.5 s (3 waiting ahead; 1 at once, 32/s, burst 256)", (await refused).Refusal);
        Assert.All(queued, task => Assert.False(task.IsCompleted));
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_queue_and_the_next_gets_its_turn()
    {
        var guard = Start(new IssuanceLimits { Concurrency = 1 });
        var running = await guard.EnterAsync("running", CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var impatient = guard.EnterAsync("impatient", giveUp.Token).AsTask();
        var patient = guard.EnterAsync("patient", CancellationToken.None).AsTask();

        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        running.Dispose();
        using var started = await patient;
        Assert.Null(started.Refusal);
        Assert.Empty(_logs);
    }

    [Fact]
    public async Task A_sustained_flood_gets_the_burst_then_the_rate_and_the_rest_is_refused_with_a_bounded_log()
    {
        // A wait of 1.25 s holds the two newcomers whose tokens come within the second, not a third.
        var guard = Start(new IssuanceLimits { Concurrency = 4, Burst = 4, PerSecond = 2, QueueWait = TimeSpan.FromSeconds(1.25) });
        var granted = 0;
        var refused = 0;
        var pending = new List<Task<IssuanceSlot>>();

        // 20 a second for 30 s, ten times the rate; each admitted issue finishes at once.
        for (var second = 0; second < 30; second++)
        {
            pending.AddRange(Enumerable.Range(0, 20).Select(_ => guard.EnterAsync("flood", CancellationToken.None).AsTask()));
            _time.Advance(TimeSpan.FromSeconds(1));
            foreach (var done in pending.Where(task => task.IsCompleted).ToList())
            {
                pending.Remove(done);
                using var slot = await done;
                if (slot.Refusal is null)
                {
                    granted++;
                }
                else
                {
                    refused++;
                }
            }
        }

        Assert.Empty(pending);
        Assert.Equal(4 + (2 * 30), granted);
        Assert.Equal((20 * 30) - granted, refused);
        // One line at the start, then one report per 10 s.
        Assert.Equal(4, _logs.Count);
        Assert.EndsWith("more like it in the last 10 s", _logs.Last(), StringComparison.Ordinal);
    }

    private IssuanceGuard Start(IssuanceLimits limits)
    {
        _guard = new IssuanceGuard(limits, _time, line =>
        {
            _logs.Enqueue(line);
            return Task.CompletedTask;
        });
        return _guard;
    }
}

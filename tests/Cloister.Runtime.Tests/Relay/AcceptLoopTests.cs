using System.Threading.Channels;
using Cloister.Runtime.Relay;

namespace Cloister.Runtime.Tests.Relay;

public sealed class AcceptLoopTests
{
    [Fact]
    public async Task Each_connection_is_served_concurrently_and_stopping_waits_for_all_of_them()
    {
        var incoming = Channel.CreateUnbounded<int>();
        using var started = new CountdownEvent(3);
        var finished = 0;
        using var stop = new CancellationTokenSource();
        var loop = AcceptLoop.RunAsync(
            incoming.Reader.ReadAsync,
            async (connection, cancellationToken) =>
            {
                started.Signal();
                try
                {
                    // Every connection waits for the loop to stop: served one at a time, the second would never start.
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                finally
                {
                    Interlocked.Increment(ref finished);
                }
            },
            stop.Token);

        for (var i = 0; i < 3; i++)
        {
            await incoming.Writer.WriteAsync(i);
        }

        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        await loop;

        Assert.Equal(3, finished);
    }

    [Fact]
    public async Task A_failing_accept_ends_the_loop_with_its_exception()
    {
        var ex = await Assert.ThrowsAsync<IOException>(() => AcceptLoop.RunAsync<int>(
            _ => ValueTask.FromException<int>(new IOException("listener broke")),
            (_, _) => Task.CompletedTask,
            CancellationToken.None));

        Assert.Equal("listener broke", ex.Message);
    }
}

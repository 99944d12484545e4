using System.Threading.Channels;
using Cloister.Runtime.Relay;

namespace Cloister.Runtime.Tests.Relay;

public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task Connections_up_to_the_limit_are_admitted_and_an_ended_one_makes_room()
    {
        using var limit = new ConnectionLimit(2);
        var next = 0;
        ValueTask<int> Accept(CancellationToken cancellationToken) => ValueTask.FromResult(next++);

        var (_, first) = await limit.AcceptAsync(Accept, CancellationToken.None);
        var (_, second) = await limit.AcceptAsync(Accept, CancellationToken.None);
        var (_, third) = await limit.AcceptAsync(Accept, CancellationToken.None);

        Assert.True(first.IsAdmitted);
        Assert.True(second.IsAdmitted);
        Assert.False(third.IsAdmitted);
        Assert.Equal(2, limit.Open);

        // A refusal frees nothing the served connections hold; an ended connection frees its place, once.
        third.Dispose();
        Assert.Equal(2, limit.Open);
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, limit.Open);
        var (_, fourth) = await limit.AcceptAsync(Accept, CancellationToken.None);
        Assert.True(fourth.IsAdmitted);
        Assert.Equal(2, limit.Open);
        second.Dispose();
        fourth.Dispose();
        Assert.Equal(0, limit.Open);
    }

    [Fact]
    public async Task With_every_refusal_place_taken_the_next_accept_waits_until_a_refusal_ends()
    {
        using var limit = new ConnectionLimit(1);
        var incoming = Channel.CreateUnbounded<int>();
        var accepted = 0;
        async ValueTask<int> Accept(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref accepted);
            return await incoming.Reader.ReadAsync(cancellationToken);
        }

        for (var i = 0; i <= ConnectionLimit.MaxRefusing; i++)
        {
            await incoming.Writer.WriteAsync(i);
        }

        var (_, served) = await limit.AcceptAsync(Accept, CancellationToken.None);
        var refusals = new List<ConnectionSlot>();
        for (var i = 0; i < ConnectionLimit.MaxRefusing; i++)
        {
            refusals.Add((await limit.AcceptAsync(Accept, CancellationToken.None)).Slot);
        }

        Assert.True(served.IsAdmitted);
        Assert.All(refusals, slot => Assert.False(slot.IsAdmitted));
        Assert.Equal(1 + ConnectionLimit.MaxRefusing, accepted);

        // The next connection is not even accepted: it stays in the listener's backlog.
        await incoming.Writer.WriteAsync(-1);
        var waiting = limit.AcceptAsync(Accept, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1 + ConnectionLimit.MaxRefusing, accepted);

        refusals[0].Dispose();
        var (connection, slot) = await waiting;
        Assert.Equal(-1, connection);
        Assert.False(slot.IsAdmitted);
    }

    [Fact]
    public async Task A_failed_accept_takes_no_place()
    {
        using var limit = new ConnectionLimit(1);

        await Assert.ThrowsAsync<IOException>(() => limit.AcceptAsync<int>(_ => ValueTask.FromException<int>(new IOException("listener broke")), CancellationToken.None).AsTask());
        var (_, slot) = await limit.AcceptAsync(_ => ValueTask.FromResult(1), CancellationToken.None);

        Assert.True(slot.IsAdmitted);
    }

    [Fact]
    public void A_limit_below_one_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionLimit(0));
}

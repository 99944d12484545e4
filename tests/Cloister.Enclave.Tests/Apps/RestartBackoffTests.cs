using Cloister.Enclave.Apps;
using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Tests.Apps;

public sealed class RestartBackoffTests
{
    private static readonly AppExit s_crash = new(3, null);
    private static readonly AppExit s_success = new(0, null);
    private static readonly AppExit s_killed = new(null, 9);

    [Fact]
    public void Delay_doubles_from_one_second_to_thirty_and_counts_the_restarts()
    {
        var backoff = new RestartBackoff(RestartPolicy.OnFailure);

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.Next(s_crash, TimeSpan.FromSeconds(1))!.Value.TotalSeconds).ToList();

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], delays);
        Assert.Equal(8, backoff.Restarts);
    }

    [Fact]
    public void A_run_as_long_as_the_maximum_starts_the_backoff_over()
    {
        var backoff = new RestartBackoff(RestartPolicy.Always);
        backoff.Next(s_crash, TimeSpan.Zero);
        backoff.Next(s_crash, TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromSeconds(4), backoff.Next(s_crash, RestartBackoff.Maximum - TimeSpan.FromTicks(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Next(s_crash, RestartBackoff.Maximum));
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Next(s_crash, TimeSpan.Zero));
    }

    [Theory]
    [InlineData(RestartPolicy.Never, false, false, false)]
    [InlineData(RestartPolicy.OnFailure, false, true, true)]
    [InlineData(RestartPolicy.Always, true, true, true)]
    public void Policy_decides_which_ends_restart(RestartPolicy policy, bool afterSuccess, bool afterCrash, bool afterSignal)
    {
        Assert.Equal(afterSuccess, new RestartBackoff(policy).Next(s_success, TimeSpan.Zero) is not null);
        Assert.Equal(afterCrash, new RestartBackoff(policy).Next(s_crash, TimeSpan.Zero) is not null);
        Assert.Equal(afterSignal, new RestartBackoff(policy).Next(s_killed, TimeSpan.Zero) is not null);
    }
}

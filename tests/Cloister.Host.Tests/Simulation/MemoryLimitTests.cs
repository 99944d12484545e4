using Cloister.Host.Simulation;
using Cloister.Host.Tests.TestEnclave;

namespace Cloister.Host.Tests.Simulation;

public sealed class MemoryLimitTests
{
    [Fact]
    public async Task Without_a_limit_the_enclave_holds_what_it_asks_for()
    {
        using var harness = await SimulatorHarness.CreateAsync("allocate", "96");

        var result = await harness.RunAsync();

        Assert.True(result.ExitCode == 0, harness.Transcript);
        Assert.Contains($"held {96 * 1048576} bytes", harness.Output.ToString());
    }

    [Fact]
    public async Task With_memory_the_enclave_is_killed_when_it_holds_more_and_its_cgroup_is_removed()
    {
        Assert.True(
            MemoryCgroup.FindOwnMemoryCgroup(File.ReadAllLines("/proc/self/mountinfo"), File.ReadAllLines("/proc/self/cgroup")) is not null,
            "this machine has no memory cgroup controller, which the simulator's --memory needs");
        using var harness = await SimulatorHarness.CreateAsync("allocate", "96");
        harness.MemoryMib = 32;

        var result = await harness.RunAsync();

        Assert.True(result.ExitCode != 0, harness.Transcript);
        Assert.DoesNotContain("held", harness.Output.ToString());
        Assert.DoesNotContain("not enforced", harness.Diagnostics.ToString());
        var cgroup = MemoryCgroup.FindOwnMemoryCgroup(File.ReadAllLines("/proc/self/mountinfo"), File.ReadAllLines("/proc/self/cgroup"))!.Value.Directory;
        Assert.False(Directory.Exists(Path.Combine(cgroup, "cloister-run")), "the run's cgroup outlived it");
    }

    [Fact]
    public void The_memory_cgroup_is_found_under_v1_and_delegated_v2_mounts()
    {
        string[] v1Mounts = ["30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"];
        Assert.Equal(("/sys/fs/cgroup/memory/process_api/abc", false), MemoryCgroup.FindOwnMemoryCgroup(v1Mounts, ["4:memory:/process_api/abc", "0::/"]));
        Assert.Equal(("/sys/fs/cgroup/memory", false), MemoryCgroup.FindOwnMemoryCgroup(["30 25 0:26 /x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory"], ["4:memory:/x"]));
        Assert.Null(MemoryCgroup.FindOwnMemoryCgroup(["30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu"], ["4:cpu:/"]));
        Assert.Null(MemoryCgroup.FindOwnMemoryCgroup(v1Mounts, ["0::/user.slice"]));
    }
}

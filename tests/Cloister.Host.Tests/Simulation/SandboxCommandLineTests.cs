using Cloister.Build.Eif;
using Cloister.Host.Simulation;
using Cloister.Host.Tests.TestEnclave;

namespace Cloister.Host.Tests.Simulation;

public sealed class SandboxCommandLineTests
{
    [Fact]
    public async Task Bubblewrap_gets_every_namespace_but_the_user_one_and_the_contract_paths()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        using var reader = EifReader.Open(harness.ImagePath);
        var image = UnpackedEnclaveImage.Unpack(reader, Path.Combine(harness.Directory, "root"));

        var commandLine = SandboxCommandLine.Create(image, "/run-dir", new SandboxTools("/usr/bin/bwrap", "/usr/bin/taskset", null, "/usr/bin/setsid"), 17, cpus: 1, asRoot: true);
        var arguments = string.Join(' ', commandLine.Arguments);

        Assert.StartsWith("/usr/bin/setsid --wait /usr/bin/taskset --cpu-list 0 /usr/bin/bwrap ", arguments, StringComparison.Ordinal);
        foreach (var expected in new[]
        {
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
            $"--bind {image.Rootfs} /", "--proc /proc", "--dev /dev", "--tmpfs /tmp", "--tmpfs /run",
            "--bind /run-dir/vsock /run/cloister/vsock", "--bind /run-dir/nsm.sock /run/cloister/nsm.sock",
            "--clearenv --setenv CLOISTER_SIMULATED_CID 17", "-- /bin/sh /test/enclave.sh exit 0",
        })
        {
            Assert.Contains(expected, arguments, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("--unshare-user", arguments, StringComparison.Ordinal);
        Assert.DoesNotContain("--unshare-all", arguments, StringComparison.Ordinal);
        Assert.True(commandLine.Isolated);
        Assert.Equal("/run-dir", commandLine.SocketRoot);
    }

    [Fact]
    public async Task Without_bubblewrap_the_sockets_move_into_the_root_the_enclave_sees()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        using var reader = EifReader.Open(harness.ImagePath);
        var image = UnpackedEnclaveImage.Unpack(reader, Path.Combine(harness.Directory, "root"));

        var commandLine = SandboxCommandLine.Create(image, "/run-dir", new SandboxTools(null, null, "/usr/sbin/chroot"), 16, cpus: null, asRoot: true);

        Assert.False(commandLine.Isolated);
        Assert.Equal(["/usr/sbin/chroot", image.Rootfs, "/bin/sh", "/test/enclave.sh", "exit", "0"], commandLine.Arguments);
        Assert.Equal(Path.Combine(image.Rootfs, "run", "cloister"), commandLine.SocketRoot);
        Assert.Contains(KeyValuePair.Create("CLOISTER_SIMULATED_CID", "16"), commandLine.Environment);
    }
}

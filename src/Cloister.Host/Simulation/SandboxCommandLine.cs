using System.Globalization;
using Cloister.Runtime.Simulation;

namespace Cloister.Host.Simulation;

/// <summary>
/// The command line that starts an unpacked enclave: inside bubblewrap when it is available, else unisolated
/// (chrooted when running as root), optionally in a memory cgroup and under <c>taskset</c>.
/// </summary>
internal sealed class SandboxCommandLine
{
    private SandboxCommandLine(IReadOnlyList<string> arguments, IReadOnlyList<KeyValuePair<string, string>> environment, string socketRoot, bool isolated, string? workingDirectory)
    {
        Arguments = arguments;
        Environment = environment;
        SocketRoot = socketRoot;
        Isolated = isolated;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>The program and its arguments.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The process's whole environment (nothing is inherited).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; }

    /// <summary>The host directory that the enclave sees as <see cref="SimulatedEnclaveContract.RunDirectory"/>: it holds <c>vsock/</c> and <c>nsm.sock</c>.</summary>
    public string SocketRoot { get; }

    /// <summary>Whether the enclave runs in its own namespaces.</summary>
    public bool Isolated { get; }

    /// <summary>The working directory of the process, or <see langword="null"/> to keep the host's.</summary>
    public string? WorkingDirectory { get; }

    /// <summary>Composes the command line.</summary>
    /// <param name="image">The unpacked image.</param>
    /// <param name="runDirectory">The run directory, holding <c>vsock/</c> and <c>nsm.sock</c>.</param>
    /// <param name="tools">The programs found on this machine.</param>
    /// <param name="cid">The enclave's CID.</param>
    /// <param name="cpus">The CPUs to pin it to, or <see langword="null"/> for all.</param>
    /// <param name="asRoot">Whether this process runs as root (then chroot is available without bubblewrap).</param>
    /// <param name="join">A command prefix that puts the process into its cgroup first (<see cref="MemoryCgroup.JoinCommand"/>), or <see langword="null"/>.</param>
    public static SandboxCommandLine Create(UnpackedEnclaveImage image, string runDirectory, SandboxTools tools, uint cid, int? cpus, bool asRoot, IReadOnlyList<string>? join = null)
    {
        var environment = image.Environment
            .Select(line => line.IndexOf('=', StringComparison.Ordinal) is var equals and > 0
                ? KeyValuePair.Create(line[..equals], line[(equals + 1)..])
                : KeyValuePair.Create(line, ""))
            .Append(KeyValuePair.Create(SimulatedEnclaveContract.CidVariable, cid.ToString(CultureInfo.InvariantCulture)))
            .ToList();
        List<string> prefix = [.. join ?? []];
        if (tools.Setsid is { } setsid)
        {
            prefix.AddRange([setsid, "--wait"]);
        }

        if (cpus is { } count && tools.Taskset is { } taskset && count < System.Environment.ProcessorCount)
        {
            prefix.AddRange([taskset, "--cpu-list", count == 1 ? "0" : $"0-{count - 1}"]);
        }

        if (tools.Bubblewrap is { } bwrap)
        {
            List<string> arguments =
            [
                .. prefix, bwrap,
                // Not the user namespace: as root it would map only uid 0, and the app could not run as the image's USER.
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--hostname", "enclave",
                "--bind", image.Rootfs, "/",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run",
                "--bind", Path.Combine(runDirectory, "vsock"), SimulatedEnclaveContract.RunDirectory + "/vsock",
                "--bind", Path.Combine(runDirectory, "nsm.sock"), SimulatedEnclaveContract.NsmSocketPath,
                "--clearenv",
            ];
            foreach (var (name, value) in environment)
            {
                arguments.AddRange(["--setenv", name, value]);
            }

            arguments.AddRange(["--chdir", "/", "--", .. image.Command]);
            return new SandboxCommandLine(arguments, [], runDirectory, isolated: true, workingDirectory: null);
        }

        // Unisolated: the sockets live where the enclave's absolute paths lead, inside its root.
        var socketRoot = Path.Combine(image.Rootfs, SimulatedEnclaveContract.RunDirectory.TrimStart('/'));
        return asRoot && tools.Chroot is { } chroot
            ? new SandboxCommandLine([.. prefix, chroot, image.Rootfs, .. image.Command], environment, socketRoot, isolated: false, workingDirectory: null)
            : new SandboxCommandLine([.. prefix, .. image.Command], environment, socketRoot, isolated: false, workingDirectory: image.Rootfs);
    }
}

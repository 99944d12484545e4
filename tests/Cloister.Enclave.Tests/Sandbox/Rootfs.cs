using Cloister.Build.Supervisor;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// A throw-away image root file system with the supervisor bundle in it, and a way to start the bundle's <c>cmd</c>
/// in it the way AWS init does: chrooted, as root, with only the given environment, in fresh PID and network namespaces.
/// </summary>
internal sealed class Rootfs : IDisposable
{
    private readonly List<string> _bindArguments = [];

    private Rootfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>A root holding only the bundle and the empty mount points init would mount over: a <c>scratch</c> image.</summary>
    public static Rootfs WithBundle(SupervisorBundle bundle)
    {
        var rootfs = new Rootfs(Directory.CreateTempSubdirectory("cloister-rootfs-").FullName);
        bundle.WriteTo(rootfs.Path);
        foreach (var mountPoint in new[] { "proc", "dev", "tmp" })
        {
            Directory.CreateDirectory(rootfs.At(mountPoint));
        }

        return rootfs;
    }

    public string At(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>Makes a host path visible read-only inside the root (bubblewrap creates the mount point); later binds stack on earlier ones.</summary>
    public Rootfs BindReadOnly(string hostPath, string? inside = null)
    {
        _bindArguments.AddRange(["--ro-bind", hostPath, inside ?? hostPath]);
        return this;
    }

    /// <summary>Makes a host path (a directory, or a socket file) visible read-write inside the root.</summary>
    public Rootfs Bind(string hostPath, string inside)
    {
        _bindArguments.AddRange(["--bind", hostPath, inside]);
        return this;
    }

    /// <summary>Runs the supervisor through the bundle's own command line.</summary>
    public ProcessResult RunSupervisor(IEnumerable<string> environment, params string[] arguments) =>
        Run(environment, SupervisorBundle.Command(arguments));

    /// <summary>
    /// Runs the supervisor as a parent that ignores <paramref name="signals"/> starts it (as nohup or a shell's
    /// background job does): a shell sets them to SIG_IGN and execs bwrap, and an ignored signal survives exec.
    /// </summary>
    public ProcessResult RunSupervisorIgnoring(string signals, IEnumerable<string> environment) =>
        ExternalTool.Capture("/bin/sh", ["-c", $"trap '' {signals}; exec \"$0\" \"$@\"", ExternalTool.Require("bwrap", "bubblewrap"), .. BwrapArguments(environment, SupervisorBundle.Command())]);

    public ProcessResult Run(IEnumerable<string> environment, IEnumerable<string> argv) =>
        ExternalTool.Capture(ExternalTool.Require("bwrap", "bubblewrap"), BwrapArguments(environment, argv));

    /// <summary>Starts the supervisor (no arguments: its default mode) and returns without waiting.</summary>
    public SandboxedProcess StartSupervisor(IEnumerable<string> environment) =>
        SandboxedProcess.Start(ExternalTool.Require("bwrap", "bubblewrap"), BwrapArguments(environment, SupervisorBundle.Command()));

    private List<string> BwrapArguments(IEnumerable<string> environment, IEnumerable<string> argv)
    {
        List<string> arguments = ["--bind", Path, "/", .. _bindArguments, "--proc", "/proc", "--dev", "/dev", "--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"];
        foreach (var variable in environment)
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            arguments.AddRange(["--setenv", variable[..equals], variable[(equals + 1)..]]);
        }

        return [.. arguments, "--", .. argv];
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

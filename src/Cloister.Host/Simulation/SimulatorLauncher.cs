using Cloister.Attestation.Simulation;
using Cloister.Build.Eif;
using Cloister.Host.Processes;
using Cloister.Host.Supervision;

namespace Cloister.Host.Simulation;

/// <summary>Prepares an EIF to run in the simulator: checks and unpacks it, loads the simulated root and starts the NSM.</summary>
public static class SimulatorLauncher
{
    /// <summary>Prepares the enclave; <see cref="HostedEnclave.StartAsync"/> then starts it.</summary>
    /// <param name="options">The image, the run directory and the rest.</param>
    /// <returns>The prepared enclave; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The image does not exist.</exception>
    /// <exception cref="EifFormatException">The image is corrupt (structure or CRC).</exception>
    /// <exception cref="Build.Cpio.CpioFormatException">A ramdisk is malformed.</exception>
    /// <exception cref="InvalidDataException">The image has nothing to start, or a ramdisk entry would escape the run directory.</exception>
    /// <exception cref="EnclaveLaunchException">The run directory is not empty.</exception>
    /// <exception cref="FormatException">The simulated root's files are not a root certificate and its key.</exception>
    /// <exception cref="IOException">Reading or writing failed.</exception>
    public static SimulatedEnclave Prepare(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Directory.Exists(options.RunDirectory) && Directory.EnumerateFileSystemEntries(options.RunDirectory).Any())
        {
            throw new EnclaveLaunchException($"the run directory {options.RunDirectory} is not empty");
        }

        Directory.CreateDirectory(options.RunDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            UnpackedEnclaveImage image;
            using (var reader = EifReader.Open(options.ImagePath))
            {
                image = UnpackedEnclaveImage.Unpack(reader, Path.Combine(options.RunDirectory, "root"));
            }

            var asRoot = Posix.IsRoot;
            string? memoryNotEnforced = null;
            var cgroup = options.MemoryMib is { } memory
                ? MemoryCgroup.TryCreate("cloister-" + Path.GetFileName(Path.TrimEndingDirectorySeparator(options.RunDirectory)), memory, out memoryNotEnforced)
                : null;
            var commandLine = SandboxCommandLine.Create(image, options.RunDirectory, options.Tools, options.Cid, options.Cpus, asRoot, cgroup?.JoinCommand);
            if (!commandLine.Isolated && asRoot && options.Tools.Chroot is not null)
            {
                CreateDevices(image.Rootfs);
            }

            SimulatedNitroRoot? root = null;
            try
            {
                root = SimulatedRootStore.LoadOrCreate(options.SimulatedRootDirectory, out var rootCreated);
                return new SimulatedEnclave(options, image, commandLine, root, rootCreated, cgroup, Warnings(options, commandLine, asRoot, memoryNotEnforced));
            }
            catch
            {
                root?.Dispose();
                cgroup?.Dispose();
                throw;
            }
        }
        catch when (!options.KeepRunDirectory)
        {
            Directory.Delete(options.RunDirectory, recursive: true);
            throw;
        }
    }

    private static void CreateDevices(string rootfs)
    {
        // Nitro's init mounts a devtmpfs on /dev and bubblewrap mounts its own; a chroot gets only what is made here.
        var dev = Path.Combine(rootfs, "dev");
        Directory.CreateDirectory(dev);
        foreach (var (name, minor) in new[] { ("null", 3u), ("zero", 5u), ("full", 7u), ("random", 8u), ("urandom", 9u) })
        {
            var path = Path.Combine(dev, name);
            if (!Path.Exists(path))
            {
                Posix.MakeNode(path, (int)((uint)Build.Cpio.CpioEntryType.CharacterDevice << 12) | 0b110_110_110, 1, minor);
            }
        }
    }

    private static List<string> Warnings(SimulatorOptions options, SandboxCommandLine commandLine, bool asRoot, string? memoryNotEnforced)
    {
        var warnings = new List<string>();
        if (!commandLine.Isolated)
        {
            warnings.Add(asRoot && options.Tools.Chroot is not null
                ? "bubblewrap (bwrap) is not installed: the enclave runs UNISOLATED, only chrooted into its root file system; it shares this machine's network, processes and devices"
                : "bubblewrap (bwrap) is not installed: the enclave runs UNISOLATED on this machine, without even a chroot (not root); its absolute paths resolve against this machine's files");
        }

        if (options.Cpus is { } cpus && (options.Tools.Taskset is null || cpus >= Environment.ProcessorCount))
        {
            warnings.Add(options.Tools.Taskset is null
                ? $"--cpus {cpus} is not enforced: taskset (util-linux) is not installed"
                : $"--cpus {cpus}: this machine has only {Environment.ProcessorCount}, the enclave may use them all");
        }

        if (memoryNotEnforced is not null)
        {
            warnings.Add($"--memory {options.MemoryMib} is not enforced: {memoryNotEnforced}");
        }

        return warnings;
    }
}

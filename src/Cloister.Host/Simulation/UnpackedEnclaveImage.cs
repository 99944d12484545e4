using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;

namespace Cloister.Host.Simulation;

/// <summary>
/// An EIF checked and unpacked as the enclave's kernel would see it: every ramdisk in order into one root, whose
/// <c>rootfs/</c> becomes <c>/</c> and whose <c>cmd</c> and <c>env</c> say what to start.
/// </summary>
public sealed class UnpackedEnclaveImage
{
    /// <summary>Where <c>cloister build</c> puts the launch spec, relative to the customer ramdisk's root.</summary>
    internal const string LaunchSpecInRoot = "rootfs" + EnclavePaths.LaunchSpec;

    private UnpackedEnclaveImage(string root, EifMeasurements measurements, IReadOnlyList<string> command, IReadOnlyList<string> environment, EnclaveLaunchSpec? launchSpec)
    {
        Root = root;
        Measurements = measurements;
        Command = command;
        Environment = environment;
        LaunchSpec = launchSpec;
    }

    /// <summary>The unpacked initramfs root.</summary>
    public string Root { get; }

    /// <summary>The image's root file system: <c>&lt;root&gt;/rootfs</c>.</summary>
    public string Rootfs => Path.Combine(Root, "rootfs");

    /// <summary>PCR0, 1, 2 and (when signed) 8, computed from the image's bytes.</summary>
    public EifMeasurements Measurements { get; }

    /// <summary>The customer ramdisk's <c>cmd</c>, one argument per line.</summary>
    public IReadOnlyList<string> Command { get; }

    /// <summary>The customer ramdisk's <c>env</c>, one <c>NAME=value</c> per line.</summary>
    public IReadOnlyList<string> Environment { get; }

    /// <summary>
    /// The launch spec <c>/cloister/enclave.json</c> that <c>cloister build</c> adds (manifest: ingress, egress…);
    /// <see langword="null"/> for images built with <c>--runtime none</c> or by nitro-cli.
    /// </summary>
    public EnclaveLaunchSpec? LaunchSpec { get; }

    /// <summary>Checks the image (structure and CRC), measures it and unpacks its ramdisks into <paramref name="root"/>.</summary>
    /// <param name="image">The open image.</param>
    /// <param name="root">An empty or missing directory.</param>
    /// <returns>The unpacked image.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="EifFormatException">The CRC does not match or a section is malformed.</exception>
    /// <exception cref="CpioFormatException">A ramdisk is malformed.</exception>
    /// <exception cref="InvalidDataException">The image has no ramdisk, no or an empty <c>cmd</c>, a ramdisk entry would escape the root, the launch spec is invalid, or <c>cmd</c>, <c>env</c> or the launch spec is reached through a symbolic link.</exception>
    /// <exception cref="IOException">Reading or writing failed, or <c>cmd</c>, <c>env</c> or the launch spec is larger than its limit (<see cref="FileTooLargeException"/>).</exception>
    public static UnpackedEnclaveImage Unpack(EifReader image, string root)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(root);
        EifMeasurements measurements;
        using (var inspection = image.Inspect())
        {
            inspection.ThrowIfCrcMismatch();
            measurements = inspection.Measurements;
        }

        var ramdisks = image.Sections.Where(s => s.Type == EifSectionType.Ramdisk).ToList();
        if (ramdisks.Count == 0)
        {
            throw new InvalidDataException("the image has no ramdisk section");
        }

        for (var i = 0; i < ramdisks.Count; i++)
        {
            using var data = image.OpenSection(ramdisks[i]);
            RamdiskUnpacker.Unpack(data, root, $"ramdisk {i} (section at offset {ramdisks[i].HeaderOffset})");
        }

        var command = ReadLines(root, "cmd");
        if (command.Count == 0)
        {
            throw new InvalidDataException("the customer ramdisk's 'cmd' is missing or empty: nothing to start");
        }

        var environment = ReadLines(root, "env");
        return new UnpackedEnclaveImage(root, measurements, command, environment, ReadLaunchSpec(root));
    }

    private static List<string> ReadLines(string root, string name)
    {
        if (ImageFile(root, name) is not { } path)
        {
            return [];
        }

        // nitro-cli writes one element per line, each followed by '\n'.
        return [.. BoundedFile.ReadAllText(path, FileSizeLimits.Text, $"the image's {name}").Split('\n').Where(line => line.Length > 0)];
    }

    private static EnclaveLaunchSpec? ReadLaunchSpec(string root)
    {
        if (ImageFile(root, LaunchSpecInRoot) is not { } path)
        {
            return null;
        }

        return ParseLaunchSpec(BoundedFile.ReadAllBytes(path, FileSizeLimits.Json, "the image's launch spec"));
    }

    /// <summary>
    /// The path of a file the host reads out of the unpacked image, or <see langword="null"/> when the image has none.
    /// The image is its author's, and this process runs outside the sandbox: a symbolic link on the way (<c>cmd</c> →
    /// <c>/etc/shadow</c>, <c>rootfs/cloister</c> → <c>/root</c>) would read this machine's files into the enclave's
    /// command line, so none is followed. Inside the enclave the same links resolve in the enclave's own root.
    /// </summary>
    /// <exception cref="InvalidDataException">A component of the path is a symbolic link, or the file is not a regular file.</exception>
    private static string? ImageFile(string root, string relativePath)
    {
        var path = root;
        foreach (var component in relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path = Path.Combine(path, component);
            var entry = new FileInfo(path);
            if (entry.LinkTarget is not null)
            {
                throw new InvalidDataException($"the image's {relativePath}: {path[(root.Length + 1)..]} is a symbolic link, which the simulator does not follow out of the image");
            }

            if (!entry.Exists && !Directory.Exists(path))
            {
                return null;
            }
        }

        return File.Exists(path) ? path : throw new InvalidDataException($"the image's {relativePath} is not a regular file");
    }

    /// <summary>Parses the launch spec found in an image.</summary>
    /// <exception cref="InvalidDataException">It is not a valid launch spec.</exception>
    internal static EnclaveLaunchSpec ParseLaunchSpec(byte[] json)
    {
        try
        {
            return EnclaveLaunchSpecJson.Deserialize(json);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"{LaunchSpecInRoot}: {ex.Message}", ex);
        }
    }
}

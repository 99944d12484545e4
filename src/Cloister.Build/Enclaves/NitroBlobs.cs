using Cloister.Build.Eif;
using Cloister.Runtime.Files;

namespace Cloister.Build.Enclaves;

/// <summary>
/// A nitro-cli blobs directory: the kernel, its command line, the bootstrap ramdisk's <c>init</c> and <c>nsm.ko</c>,
/// and optionally the kernel config the metadata quotes. Cloister never invents any of these.
/// </summary>
public sealed class NitroBlobs
{
    /// <summary>Where AWS's nitro-cli package installs its blobs.</summary>
    public const string DefaultDirectory = "/usr/share/nitro_enclaves/blobs";

    private NitroBlobs(string directory, EifArchitecture architecture, string kernel)
    {
        Directory = directory;
        Architecture = architecture;
        KernelPath = kernel;
    }

    /// <summary>The blobs directory.</summary>
    public string Directory { get; }

    /// <summary>The architecture the kernel is for.</summary>
    public EifArchitecture Architecture { get; }

    /// <summary><c>bzImage</c> (x86_64) or <c>Image</c> (aarch64).</summary>
    public string KernelPath { get; }

    /// <summary>The kernel command line file.</summary>
    public string CmdlinePath => Path.Combine(Directory, "cmdline");

    /// <summary>AWS's init for the bootstrap ramdisk.</summary>
    public string InitPath => Path.Combine(Directory, "init");

    /// <summary>The NSM driver for the bootstrap ramdisk.</summary>
    public string NsmModulePath => Path.Combine(Directory, "nsm.ko");

    /// <summary>The kernel config (<c>bzImage.config</c> / <c>Image.config</c>), or <see langword="null"/> when the directory has none.</summary>
    public string? KernelConfigPath => File.Exists(KernelPath + ".config") ? KernelPath + ".config" : null;

    /// <summary>Opens a blobs directory for an architecture and checks every blob a build needs is there.</summary>
    /// <param name="directory">The directory.</param>
    /// <param name="architecture">The image's architecture.</param>
    /// <returns>The blobs.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="directory"/> is <see langword="null"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">A blob is missing; the message names it.</exception>
    public static NitroBlobs Open(string directory, EifArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"blobs directory {full} does not exist");
        }

        var blobs = new NitroBlobs(full, architecture, Path.Combine(full, architecture == EifArchitecture.Arm64 ? "Image" : "bzImage"));
        foreach (var required in new[] { blobs.KernelPath, blobs.CmdlinePath, blobs.InitPath, blobs.NsmModulePath })
        {
            if (!File.Exists(required))
            {
                throw new FileNotFoundException($"the blobs directory {full} has no {Path.GetFileName(required)} for {architecture}", required);
            }
        }

        return blobs;
    }

    /// <summary>
    /// Picks the blobs directory as nitro-cli does: the explicit one, else <c>$NITRO_CLI_BLOBS</c>, else
    /// <see cref="DefaultDirectory"/> when it exists. The caller passes the environment variable's value.
    /// </summary>
    /// <param name="explicitDirectory">The <c>--blobs</c> option, or <see langword="null"/>.</param>
    /// <param name="environmentDirectory">The value of <c>NITRO_CLI_BLOBS</c>, or <see langword="null"/>.</param>
    /// <returns>The directory to use, or <see langword="null"/> when there is none: the build is then simulation-only.</returns>
    public static string? Locate(string? explicitDirectory, string? environmentDirectory) =>
        !string.IsNullOrEmpty(explicitDirectory) ? explicitDirectory
        : !string.IsNullOrEmpty(environmentDirectory) ? environmentDirectory
        : System.IO.Directory.Exists(DefaultDirectory) ? DefaultDirectory
        : null;

    /// <summary>The kernel command line, trimmed as nitro-cli trims the blob file.</summary>
    /// <returns>The command line.</returns>
    /// <exception cref="IOException">The file cannot be read, or it is larger than <see cref="FileSizeLimits.Text"/>.</exception>
    public string ReadCmdline() => BoundedFile.ReadAllText(CmdlinePath, FileSizeLimits.Text, "the blobs cmdline").Trim();
}

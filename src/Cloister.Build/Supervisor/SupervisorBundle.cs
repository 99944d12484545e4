using System.Runtime.Versioning;
using System.Text;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Relay;

namespace Cloister.Build.Supervisor;

/// <summary>
/// The self-contained <c>/cloister/</c> tree that lets the NativeAOT supervisor run in any image (glibc, musl or
/// <c>scratch</c>): the executable, glibc's dynamic loader and every library the executable needs (its
/// <c>DT_NEEDED</c> closure plus OpenSSL, which .NET dlopens), copied from the build machine.
/// </summary>
/// <remarks>
/// The supervisor is started through its own loader (<see cref="Command"/>), so neither the image's libc nor
/// <c>LD_LIBRARY_PATH</c> matters, and the loader's <c>--library-path</c> is not an environment variable: the app
/// the supervisor starts does not inherit it.
/// </remarks>
public sealed class SupervisorBundle
{
    /// <summary>The supervisor executable inside the image.</summary>
    public const string ExecutablePath = EnclavePaths.Root + "/bin/cloister-enclave";

    /// <summary>The directory holding the loader and the libraries.</summary>
    public const string LibraryDirectory = EnclavePaths.Root + "/lib";

    /// <summary>glibc's dynamic loader inside the image; it is what AWS init actually executes.</summary>
    public const string LoaderPath = LibraryDirectory + "/" + LoaderName;

    /// <summary>
    /// The OpenSSL configuration the supervisor's libcrypto reads instead of the image's: without it, libcrypto would read
    /// <c>/usr/lib/ssl/openssl.cnf</c> from the image, and a config that activates a provider this OpenSSL does not have
    /// (a FIPS image, a newer OpenSSL's modules) makes every hash and signature fail.
    /// </summary>
    public const string OpenSslConfigPath = EnclavePaths.Root + "/etc/openssl.cnf";

    /// <summary>
    /// The supervisor's <c>HOME</c>. AWS init passes only the image's environment, which rarely sets <c>HOME</c>, and
    /// without it .NET looks the user up in <c>/etc/passwd</c> — absent in <c>scratch</c> — and its X.509 store, which
    /// every TLS handshake opens, throws.
    /// </summary>
    public const string HomePath = EnclavePaths.Root + "/home";

    private const string LoaderName = "ld-linux-x86-64.so.2";

    private static readonly byte[] s_openSslConfig = Encoding.UTF8.GetBytes(
        "# Cloister supervisor: deliberately empty, so the image's openssl.cnf cannot change the supervisor's OpenSSL.\n");

    private SupervisorBundle(IReadOnlyList<SupervisorBundleEntry> entries) => Entries = entries;

    /// <summary>The dlopen'ed libraries bundled by default: .NET's crypto loads OpenSSL 3 at run time, so no <c>DT_NEEDED</c> names it.</summary>
    public static IReadOnlyList<string> DefaultDlopenedLibraries { get; } = ["libssl.so.3", "libcrypto.so.3"];

    /// <summary>Where an x86-64 Debian or Ubuntu build machine keeps its libraries, searched in this order.</summary>
    public static IReadOnlyList<string> DefaultLibraryDirectories { get; } =
        ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

    /// <summary>
    /// The environment the supervisor needs (one <c>NAME=value</c> per element), for the ramdisk's <c>env</c> file: with
    /// socket completions inline, since it spends its time relaying ingress and egress (<see cref="DuplexRelay.InlineCompletionsVariable"/>).
    /// </summary>
    public static IReadOnlyList<string> Environment { get; } =
        [$"HOME={HomePath}", $"OPENSSL_CONF={OpenSslConfigPath}", $"{DuplexRelay.InlineCompletionsVariable}=1"];

    internal const UnixFileMode ExecutableMode = (UnixFileMode)0b111_101_101;

    internal const UnixFileMode DataMode = (UnixFileMode)0b110_100_100;

    /// <summary>Every directory and file of the tree, sorted by path (ordinal), directories before their contents.</summary>
    public IReadOnlyList<SupervisorBundleEntry> Entries { get; }

    /// <summary>The ramdisk's <c>cmd</c>: the bundled loader running the supervisor with only the bundled libraries.</summary>
    /// <param name="arguments">Arguments for the supervisor.</param>
    /// <returns>The argv, one element per <c>cmd</c> line.</returns>
    public static IReadOnlyList<string> Command(params ReadOnlySpan<string> arguments) =>
        [LoaderPath, "--library-path", LibraryDirectory, ExecutablePath, .. arguments];

    /// <summary>Collects the tree for a published supervisor executable.</summary>
    /// <param name="executable">The NativeAOT <c>cloister-enclave</c> from <c>dotnet publish -r linux-x64</c>.</param>
    /// <param name="options">Where to find libraries and what else to bundle; <see langword="null"/> for the defaults.</param>
    /// <returns>The tree.</returns>
    /// <exception cref="FileNotFoundException">The executable, or a library it needs, is not on this machine; the message names who needs it.</exception>
    /// <exception cref="FormatException">The executable or a library is not a well-formed ELF64 file, is for another machine, or the executable is not dynamically linked against <c>ld-linux-x86-64.so.2</c>.</exception>
    public static SupervisorBundle Create(string executable, SupervisorBundleOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(executable);
        options ??= new SupervisorBundleOptions();
        var time = options.ModificationTime;
        var program = ElfLinkInfo.Read(executable);
        if (program.Interpreter is null || Path.GetFileName(program.Interpreter) != LoaderName)
        {
            throw new FormatException($"{executable}: interpreter is '{program.Interpreter}', expected glibc's {LoaderName}");
        }

        var libraries = new SharedLibraryClosure(program.Machine, options.LibraryDirectories);
        libraries.Add(LoaderName, neededBy: executable);
        libraries.AddNeededBy(program, executable);
        foreach (var library in options.DlopenedLibraries)
        {
            libraries.Add(library, neededBy: "dlopen");
        }

        var entries = new List<SupervisorBundleEntry>
        {
            SupervisorBundleEntry.Directory(Relative(EnclavePaths.Root), time),
            SupervisorBundleEntry.Directory(Relative(EnclavePaths.Root + "/bin"), time),
            SupervisorBundleEntry.CopyOf(Relative(ExecutablePath), executable, ExecutableMode, time),
            SupervisorBundleEntry.Directory(Relative(Path.GetDirectoryName(OpenSslConfigPath)!), time),
            SupervisorBundleEntry.Generated(Relative(OpenSslConfigPath), s_openSslConfig, time),
            SupervisorBundleEntry.Directory(Relative(HomePath), time),
            SupervisorBundleEntry.Directory(Relative(LibraryDirectory), time),
        };
        entries.AddRange(libraries.Resolved.Select(pair => SupervisorBundleEntry.CopyOf(
            Relative($"{LibraryDirectory}/{pair.Key}"),
            pair.Value,
            pair.Key == LoaderName ? ExecutableMode : DataMode,
            time)));
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new SupervisorBundle(entries);
    }

    /// <summary>Writes the tree below a directory that stands for the image root (it then holds <c>cloister/…</c>).</summary>
    /// <param name="imageRoot">The directory; created if missing. Existing files of the tree are overwritten.</param>
    /// <exception cref="IOException">A file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    [UnsupportedOSPlatform("windows")]
    public void WriteTo(string imageRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageRoot);
        foreach (var entry in Entries)
        {
            var target = Path.Combine(imageRoot, entry.Path);
            if (entry.IsDirectory)
            {
                System.IO.Directory.CreateDirectory(target, entry.Mode);
            }
            else
            {
                using (var source = entry.OpenRead())
                using (var destination = new FileStream(target, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = entry.Mode }))
                {
                    source.CopyTo(destination);
                }

                File.SetUnixFileMode(target, entry.Mode);
                File.SetLastWriteTimeUtc(target, entry.ModificationTime.UtcDateTime);
            }
        }
    }

    private static string Relative(string absolute) => absolute.TrimStart('/');
}

using Cloister.Build.RuntimeBundles;
using Cloister.Build.Supervisor;

namespace Cloister.RuntimeBundler;

/// <summary>
/// Makes the runtime artifact (<see cref="RuntimeBundle"/>) from a published supervisor and the lock's runtime set: the
/// supervisor's <c>DT_NEEDED</c> closure and OpenSSL are looked up in those packages' files alone, never in the
/// machine's own libraries, and the provenance names every package by version and SHA-256.
/// </summary>
public static class RuntimeBundleProducer
{
    /// <summary>Where the multiarch packages of the runtime set put their libraries (libc6 under /lib, libssl3 under /usr/lib).</summary>
    private static readonly string[] s_libraryDirectories = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"];

    /// <summary>Writes the artifact.</summary>
    /// <param name="supervisor">The published <c>cloister-enclave</c>.</param>
    /// <param name="packages">The lock's runtime set.</param>
    /// <param name="cache">Where the <c>.deb</c> files are found or downloaded to.</param>
    /// <param name="version">The Cloister version recorded in the provenance.</param>
    /// <param name="output">The artifact to write; it appears only once complete.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The artifact's digest.</returns>
    /// <exception cref="DebianPackageException">A package could not be fetched as pinned.</exception>
    /// <exception cref="FileNotFoundException">The supervisor, or a library it needs, is not in the packages.</exception>
    /// <exception cref="FormatException">The supervisor or a library is not a well-formed x86-64 ELF file, or a package not a well-formed <c>.deb</c>.</exception>
    /// <exception cref="IOException">A library resolves outside the packages' files, or reading or writing failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task<string> WriteAsync(
        string supervisor, IReadOnlyList<DebianPackage> packages, DebianPackageCache cache, string version, string output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packages);
        output = Path.GetFullPath(output);
        var directory = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(directory);
        var root = Path.Combine(directory, $".{Path.GetFileName(output)}.{Path.GetRandomFileName()}.root");
        var partial = output + ".partial";
        try
        {
            await DebianRoot.CreateAsync(packages, cache, root, progress: null, cancellationToken);
            var tree = SupervisorBundle.Create(supervisor, new SupervisorBundleOptions
            {
                LibraryDirectories = [.. s_libraryDirectories.Select(library => Path.Combine(root, library))],
            });

            // A package's symbolic link may point at an absolute path, which here would be the machine's own file.
            var inside = root + Path.DirectorySeparatorChar;
            foreach (var entry in tree.Entries.Where(entry => entry.SourcePath is not null && entry.Path != SupervisorBundle.ExecutablePath.TrimStart('/')))
            {
                if (!Path.GetFullPath(entry.SourcePath!).StartsWith(inside, StringComparison.Ordinal))
                {
                    throw new IOException($"{entry.Path} resolves to {entry.SourcePath}, outside the pinned packages");
                }
            }

            var provenance = new RuntimeProvenance
            {
                Version = version,
                Packages = [.. packages.Select(package => new RuntimePackage(package.Name, package.Version, package.Architecture, package.Sha256))],
            };
            string digest;
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write))
            {
                digest = RuntimeBundle.Write(tree, provenance, file);
            }

            File.Move(partial, output, overwrite: true);
            return digest;
        }
        finally
        {
            File.Delete(partial);
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}

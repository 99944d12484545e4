namespace Cloister.RuntimeBundler;

/// <summary>A directory tree made of nothing but pinned packages' files, as <c>dpkg</c> would unpack them (no maintainer scripts run).</summary>
public static class DebianRoot
{
    /// <summary>
    /// Fetches and verifies each package (<see cref="DebianPackageCache.FetchAsync"/>) and extracts its data tarball, in
    /// order, into a new directory. The packages are extracted into a temporary directory beside <paramref name="root"/>,
    /// which becomes <paramref name="root"/> only when every one is in: a failure leaves no root behind.
    /// </summary>
    /// <param name="packages">The packages (one set of a lock).</param>
    /// <param name="cache">Where the <c>.deb</c> files are found or downloaded to.</param>
    /// <param name="root">The directory to create; it may exist only if it is empty.</param>
    /// <param name="progress">Told about each package once it is extracted; <see langword="null"/> for silence.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The packages, each with the cached file it was extracted from.</returns>
    /// <exception cref="ArgumentException"><paramref name="packages"/> is empty.</exception>
    /// <exception cref="DebianPackageException">A package could not be fetched as pinned.</exception>
    /// <exception cref="FormatException">A package is not a <c>.deb</c> the extraction accepts (<see cref="DebArchive.ExtractDataAsync(Stream, string, string, CancellationToken)"/>).</exception>
    /// <exception cref="IOException"><paramref name="root"/> exists and is not an empty directory, or a file cannot be read or written.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache or the root's parent is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task<IReadOnlyList<FetchedPackage>> CreateAsync(
        IReadOnlyList<DebianPackage> packages,
        DebianPackageCache cache,
        string root,
        IProgress<FetchedPackage>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(packages);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (packages.Count == 0)
        {
            throw new ArgumentException("no package to extract", nameof(packages));
        }

        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (File.Exists(root) || (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any()))
        {
            throw new IOException($"{root} exists and is not an empty directory: the packages are extracted into a new one");
        }

        var parent = Path.GetDirectoryName(root) ?? throw new IOException("the root directory cannot be '/'");
        Directory.CreateDirectory(parent);
        var partial = Path.Combine(parent, $".{Path.GetFileName(root)}.{Path.GetRandomFileName()}.partial");
        try
        {
            var fetched = new List<FetchedPackage>(packages.Count);
            foreach (var package in packages)
            {
                var file = await cache.FetchAsync(package, cancellationToken);
                await using (var deb = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true))
                {
                    // Errors name the package, not the cache's hash-named file.
                    await DebArchive.ExtractDataAsync(deb, package.ToString(), partial, cancellationToken);
                }

                fetched.Add(file);
                progress?.Report(file);
            }

            if (Directory.Exists(root))
            {
                Directory.Delete(root);
            }

            Directory.Move(partial, root);
            return fetched;
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }
        }
    }
}

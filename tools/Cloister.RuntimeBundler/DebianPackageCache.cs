using System.Security.Cryptography;

namespace Cloister.RuntimeBundler;

/// <summary>Where a pinned package came from on this fetch.</summary>
/// <param name="Package">The package.</param>
/// <param name="Path">The verified <c>.deb</c> in the cache.</param>
/// <param name="Downloaded">Whether it was downloaded now, rather than found (verified) in the cache.</param>
public sealed record FetchedPackage(DebianPackage Package, string Path, bool Downloaded);

/// <summary>
/// Downloads pinned <c>.deb</c> files from a Debian mirror into a cache named by their SHA-256, and hands out only files
/// whose size and SHA-256 are the lock's: a cached file is checked again on every use, a download is checked before it
/// is kept.
/// </summary>
public sealed class DebianPackageCache
{
    /// <summary>The environment variable that names another mirror root.</summary>
    public const string MirrorVariable = "CLOISTER_DEBIAN_MIRROR";

    private const int BufferSize = 1 << 16;

    private readonly HttpClient _http;

    /// <summary>Creates a cache.</summary>
    /// <param name="directory">The cache directory; created when a package is first downloaded.</param>
    /// <param name="mirror">The mirror's root, an absolute <c>http</c> or <c>https</c> URI; the lock's paths are relative to it.</param>
    /// <param name="http">The client that downloads; its timeout bounds each download.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="mirror"/> is not an absolute <c>http</c> or <c>https</c> URI.</exception>
    public DebianPackageCache(string directory, Uri mirror, HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(http);
        Directory = directory;
        Mirror = CheckMirror(mirror);
        _http = http;
    }

    /// <summary>Debian's own redirector, whose root holds both <c>debian/</c> and <c>debian-security/</c>.</summary>
    public static Uri DefaultMirror { get; } = new("http://deb.debian.org/");

    /// <summary>The cache directory.</summary>
    public string Directory { get; }

    /// <summary>The mirror's root, ending in <c>/</c>.</summary>
    public Uri Mirror { get; }

    /// <summary><c>$XDG_CACHE_HOME/cloister/debian</c>, else <c>~/.cache/cloister/debian</c>.</summary>
    /// <returns>The directory (which may not exist yet).</returns>
    public static string DefaultDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        // The XDG base directory spec: a relative value is invalid and is ignored.
        var cacheHome = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "cloister", "debian");
    }

    /// <summary>The mirror named by <see cref="MirrorVariable"/>, else <see cref="DefaultMirror"/>.</summary>
    /// <returns>The mirror's root.</returns>
    /// <exception cref="FormatException">The variable is set but is not an absolute <c>http</c> or <c>https</c> URI.</exception>
    public static Uri MirrorFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(MirrorVariable);
        if (string.IsNullOrEmpty(value))
        {
            return DefaultMirror;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? CheckMirror(uri)
            : throw new FormatException($"{MirrorVariable}='{value}' is not an absolute http:// or https:// URI");
    }

    /// <summary>Where <paramref name="package"/> is downloaded from.</summary>
    /// <param name="package">The package.</param>
    /// <returns>The mirror's root joined with the lock's path, each component escaped.</returns>
    public Uri UriOf(DebianPackage package)
    {
        ArgumentNullException.ThrowIfNull(package);
        return new Uri(Mirror, string.Join('/', package.Path.Split('/').Select(Uri.EscapeDataString)));
    }

    /// <summary>The verified <c>.deb</c> of a pinned package: from the cache when it holds a good copy, else downloaded.</summary>
    /// <param name="package">The package.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>Where the verified file is.</returns>
    /// <exception cref="DebianPackageException">The mirror did not serve the package, or served other bytes than the lock pins (the download is deleted).</exception>
    /// <exception cref="IOException">The cache cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<FetchedPackage> FetchAsync(DebianPackage package, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(package);
        var path = Path.Combine(Directory, $"{package.Sha256}.deb");
        if (File.Exists(path))
        {
            var (size, sha256) = await MeasureAsync(path, cancellationToken);
            if (size == package.Size && sha256 == package.Sha256)
            {
                return new FetchedPackage(package, path, Downloaded: false);
            }

            // A cached file named by its hash that no longer has that hash was damaged on disk: fetch it again.
            File.Delete(path);
        }

        System.IO.Directory.CreateDirectory(Directory);
        var partial = Path.Combine(Directory, $".{package.Sha256}.{Path.GetRandomFileName()}.partial");
        try
        {
            await DownloadAsync(package, partial, cancellationToken);
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }

        return new FetchedPackage(package, path, Downloaded: true);
    }

    private async Task DownloadAsync(DebianPackage package, string partial, CancellationToken cancellationToken)
    {
        var uri = UriOf(package);
        // Escaped as sent: Uri.ToString() would show %2B as '+'.
        var address = uri.AbsoluteUri;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new DebianPackageException(package, $"{address} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await using var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            var buffer = new byte[BufferSize];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received += read;
                // Never more than pinned: a mirror that streams without end fills no disk.
                if (received > package.Size)
                {
                    throw new DebianPackageException(package, $"{address} served more than the lock's {package.Size} bytes (the download was deleted)");
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (HttpRequestException ex)
        {
            throw new DebianPackageException(package, $"{address}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DebianPackageException(package, $"{address}: no answer within {_http.Timeout.TotalSeconds:0} seconds", ex);
        }

        if (received != package.Size)
        {
            throw new DebianPackageException(package, $"{address} served {received} bytes, the lock pins {package.Size} (the download was deleted)");
        }

        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != package.Sha256)
        {
            throw new DebianPackageException(package, $"SHA-256 mismatch: expected {package.Sha256}, got {actual} from {address} (the download was deleted)");
        }
    }

    private static async Task<(long Size, string Sha256)> MeasureAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        var sha256 = await SHA256.HashDataAsync(file, cancellationToken);
        return (file.Length, Convert.ToHexStringLower(sha256));
    }

    private static Uri CheckMirror(Uri mirror)
    {
        ArgumentNullException.ThrowIfNull(mirror);
        if (!mirror.IsAbsoluteUri || mirror.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"the Debian mirror '{mirror}' is not an absolute http:// or https:// URI");
        }

        // Relative paths resolve below the root only when it ends in '/'.
        return mirror.AbsoluteUri.EndsWith('/') ? mirror : new Uri(mirror.AbsoluteUri + "/");
    }
}

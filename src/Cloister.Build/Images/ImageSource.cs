using Cloister.Build.Images.Registry;
using Cloister.Runtime.Files;

namespace Cloister.Build.Images;

/// <summary>
/// A place to read one container image from: an OCI layout directory (<see cref="OciLayoutImageSource"/>), a
/// <c>docker save</c> archive (<see cref="DockerArchiveImageSource"/>) or a registry (<see cref="RegistryImageSource"/>).
/// </summary>
/// <remarks>
/// Every manifest and config is verified against its digest before it is parsed. Layers stream: a registry source
/// downloads each layer into its content-addressed cache and verifies it before handing out the first byte; the
/// local sources verify while the consumer reads and fail the last read, not the first, on a mismatch (see
/// <see cref="ImageLayer.OpenAsync"/>).
/// </remarks>
public abstract class ImageSource : IDisposable
{
    private protected ImageSource(ImageReference reference, ImageReferenceKind kind)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Kind != kind)
        {
            throw new ArgumentException($"'{reference}' is a {reference.Kind} reference, not {kind}", nameof(reference));
        }

        Reference = reference;
    }

    /// <summary>The reference this source reads.</summary>
    public ImageReference Reference { get; }

    /// <summary>Creates the source a reference names.</summary>
    /// <param name="reference">The image.</param>
    /// <param name="registryOptions">Cache, credentials and transport rules, used only for a registry reference.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static ImageSource Create(ImageReference reference, RegistryOptions registryOptions)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(registryOptions);
        return reference.Kind switch
        {
            ImageReferenceKind.OciLayout => new OciLayoutImageSource(reference),
            ImageReferenceKind.DockerArchive => new DockerArchiveImageSource(reference),
            _ => new RegistryImageSource(reference, registryOptions),
        };
    }

    /// <summary>Reads the image's manifest (choosing the platform from an index) and config, and describes its layers.</summary>
    /// <param name="platform">The platform to pick from a multi-platform image; <see cref="ImagePlatform.LinuxAmd64"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="ImageSourceException">The image cannot be found, fetched, verified or understood; <see cref="ImageSourceException.Error"/> says which.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public abstract Task<ContainerImage> ResolveAsync(ImagePlatform? platform = null, CancellationToken cancellationToken = default);

    /// <summary>Releases the source's connections, if any.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the source's resources.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Opens a local file for streaming reads; a missing file is <see cref="ImageSourceError.NotFound"/>.</summary>
    private protected static FileStream OpenLocalFile(string path, string what)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotFound(path, what, ex);
        }
    }

    /// <summary>Reads a small local JSON file (index.json, oci-layout) whole, refusing one over <see cref="FileSizeLimits.Json"/>.</summary>
    private protected static async Task<byte[]> ReadLocalJsonAsync(string path, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await BoundedFile.ReadAllBytesAsync(path, FileSizeLimits.Json, $"the {what}", cancellationToken);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotFound(path, what, ex);
        }
        catch (FileTooLargeException ex)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, ex.Message, ex);
        }
    }

    private static ImageSourceException NotFound(string path, string what, Exception ex) =>
        new(ImageSourceError.NotFound, $"{what} not found: {path}", ex);
}

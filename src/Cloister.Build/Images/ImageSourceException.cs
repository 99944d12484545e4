namespace Cloister.Build.Images;

/// <summary>Why an image could not be read from its source.</summary>
public enum ImageSourceError
{
    /// <summary>The image reference itself is not well formed.</summary>
    InvalidReference,

    /// <summary>The image, tag, manifest, blob or file does not exist.</summary>
    NotFound,

    /// <summary>The registry refused the credentials, or needs credentials that were not given.</summary>
    Unauthorized,

    /// <summary>The credentials are held somewhere Cloister does not read (a Docker credential helper).</summary>
    UnsupportedCredentials,

    /// <summary>Content does not hash to the digest that names it, or is not the size its descriptor says.</summary>
    DigestMismatch,

    /// <summary>A manifest, config or layer has a media type Cloister does not read (schema 1, foreign layers, …).</summary>
    UnsupportedMediaType,

    /// <summary>The image has no manifest for the requested platform.</summary>
    PlatformNotFound,

    /// <summary>A manifest, index, config or archive is not what its format says it must be.</summary>
    Malformed,

    /// <summary>A request would have gone over plain HTTP to a host that is neither loopback nor declared insecure.</summary>
    InsecureTransport,

    /// <summary>The registry could not be reached or kept failing (connection errors, 5xx, timeouts).</summary>
    Unavailable,
}

/// <summary>
/// The one exception the image sources throw for anything wrong with an image, its source or the way to it.
/// The message names the reference and, where there is one, the blob, the field or the HTTP status.
/// </summary>
public sealed class ImageSourceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The kind of failure.</param>
    /// <param name="message">What went wrong, naming the reference, blob or field.</param>
    /// <param name="innerException">The failure underneath, if any.</param>
    public ImageSourceException(ImageSourceError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>The kind of failure.</summary>
    public ImageSourceError Error { get; }
}

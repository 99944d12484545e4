namespace Cloister.Build.Enclaves;

/// <summary>
/// A build the user can fix: the manifest, the image and the blobs do not fit together (nothing to run, blobs for
/// another architecture, …). The message says what to change.
/// </summary>
public sealed class EnclaveBuildException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to change.</param>
    /// <param name="inner">The failure underneath, if any.</param>
    public EnclaveBuildException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

namespace Cloister.Build.RuntimeBundles;

/// <summary>A runtime bundle was refused; <see cref="Error"/> says why and the message names the entry or offset.</summary>
public sealed class RuntimeBundleException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">Why the bundle was refused.</param>
    /// <param name="message">One line naming the bundle and the entry, field or offset at fault.</param>
    /// <param name="inner">The exception that revealed the problem, if any.</param>
    public RuntimeBundleException(RuntimeBundleError error, string message, Exception? inner = null)
        : base(message, inner) => Error = error;

    /// <summary>Why the bundle was refused.</summary>
    public RuntimeBundleError Error { get; }
}

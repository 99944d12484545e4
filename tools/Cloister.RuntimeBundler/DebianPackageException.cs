namespace Cloister.RuntimeBundler;

/// <summary>A pinned package could not be had as pinned: the mirror refused it, or what it served is not what the lock says.</summary>
public sealed class DebianPackageException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="package">The package.</param>
    /// <param name="reason">What went wrong, one line.</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public DebianPackageException(DebianPackage package, string reason, Exception? inner = null)
        : base($"{package}: {reason}", inner) => Package = package;

    /// <summary>The package that could not be had.</summary>
    public DebianPackage Package { get; }
}

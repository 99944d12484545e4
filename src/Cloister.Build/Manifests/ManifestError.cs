namespace Cloister.Build.Manifests;

/// <summary>One problem in a manifest, with where it is.</summary>
/// <param name="Source">The file name (or label) the manifest was read from.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Path">The key path, e.g. <c>ingress[0].port</c>; empty for the document itself.</param>
/// <param name="Message">What is wrong and, where it helps, what would be right.</param>
public sealed record ManifestError(string Source, int Line, int Column, string Path, string Message)
{
    /// <summary>Formats as compilers do, so editors can jump to it: <c>enclave.yaml:12:5: ingress[0].port: …</c>.</summary>
    /// <returns>The formatted error.</returns>
    public override string ToString() =>
        Path.Length == 0 ? $"{Source}:{Line}:{Column}: {Message}" : $"{Source}:{Line}:{Column}: {Path}: {Message}";
}

/// <summary>A manifest that cannot be used; <see cref="Errors"/> lists every problem found, not just the first.</summary>
public sealed class ManifestException : FormatException
{
    /// <summary>Creates the exception from the problems found.</summary>
    /// <param name="errors">At least one error.</param>
    public ManifestException(IReadOnlyList<ManifestError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem, in document order.</summary>
    public IReadOnlyList<ManifestError> Errors { get; }
}

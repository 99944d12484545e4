namespace Cloister.Runtime.Manifest;

/// <summary>How the image says it should run: the parts of its OCI config the enclave supervisor honours.</summary>
/// <remarks>AWS's init ignores WORKDIR and USER; Cloister's supervisor does not.</remarks>
public sealed class ImageRunConfig
{
    /// <summary>The image's ENTRYPOINT, or empty.</summary>
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    /// <summary>The image's CMD, or empty.</summary>
    public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>The image's environment as <c>NAME=value</c> entries, in image order.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>The working directory, or empty for <c>/</c>.</summary>
    public string WorkingDir { get; init; } = "";

    /// <summary>The user as the image names it (<c>name</c>, <c>uid</c>, <c>uid:gid</c>, …), or empty for root.</summary>
    public string User { get; init; } = "";
}

namespace Cloister.Build.Images;

/// <summary>
/// What an image's config says about how to run it and where it came from (the OCI image config, which a Docker
/// image config is a superset of). Lists are empty, never <see langword="null"/>, when the config omits them.
/// </summary>
public sealed class ImageConfig
{
    internal ImageConfig(
        ImagePlatform? platform,
        IReadOnlyList<string> entrypoint,
        IReadOnlyList<string> cmd,
        IReadOnlyList<string> env,
        string? workingDir,
        string? user,
        IReadOnlyList<string> diffIds,
        IReadOnlyList<ImageHistoryEntry> history,
        DateTimeOffset? created)
    {
        Platform = platform;
        Entrypoint = entrypoint;
        Cmd = cmd;
        Env = env;
        WorkingDir = workingDir;
        User = user;
        DiffIds = diffIds;
        History = history;
        Created = created;
    }

    /// <summary>The platform the image was built for, or <see langword="null"/> when the config does not say.</summary>
    public ImagePlatform? Platform { get; }

    /// <summary><c>config.Entrypoint</c>.</summary>
    public IReadOnlyList<string> Entrypoint { get; }

    /// <summary><c>config.Cmd</c>.</summary>
    public IReadOnlyList<string> Cmd { get; }

    /// <summary><c>config.Env</c>: <c>NAME=value</c> strings in order.</summary>
    public IReadOnlyList<string> Env { get; }

    /// <summary><c>config.WorkingDir</c>, or <see langword="null"/>.</summary>
    public string? WorkingDir { get; }

    /// <summary><c>config.User</c> (<c>name</c>, <c>uid</c>, <c>uid:gid</c>, …), or <see langword="null"/>.</summary>
    public string? User { get; }

    /// <summary><c>rootfs.diff_ids</c>: the digests of the uncompressed layers, base layer first.</summary>
    public IReadOnlyList<string> DiffIds { get; }

    /// <summary><c>history</c>, oldest first.</summary>
    public IReadOnlyList<ImageHistoryEntry> History { get; }

    /// <summary><c>created</c>, or <see langword="null"/>.</summary>
    public DateTimeOffset? Created { get; }
}

/// <summary>One step of an image's history.</summary>
public sealed class ImageHistoryEntry
{
    internal ImageHistoryEntry(DateTimeOffset? created, string? createdBy, string? comment, bool emptyLayer)
    {
        Created = created;
        CreatedBy = createdBy;
        Comment = comment;
        EmptyLayer = emptyLayer;
    }

    /// <summary>When the step ran, or <see langword="null"/>.</summary>
    public DateTimeOffset? Created { get; }

    /// <summary>The command that made the step, or <see langword="null"/>.</summary>
    public string? CreatedBy { get; }

    /// <summary>The step's comment, or <see langword="null"/>.</summary>
    public string? Comment { get; }

    /// <summary>Whether the step added no layer (a config-only change).</summary>
    public bool EmptyLayer { get; }
}

namespace Cloister.Build.Images.Packing;

/// <summary>What kind of file a <see cref="RootfsEntry"/> is.</summary>
public enum RootfsEntryKind
{
    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A regular file.</summary>
    File,

    /// <summary>A symbolic link.</summary>
    SymbolicLink,
}

/// <summary>One file, directory or symbolic link of a packed image's single layer.</summary>
public sealed class RootfsEntry
{
    private readonly byte[]? _content;

    private RootfsEntry(string path, RootfsEntryKind kind, UnixFileMode mode, ImageUser owner, string origin, string? sourcePath, byte[]? content, string? linkTarget)
    {
        Path = path;
        Kind = kind;
        Mode = mode;
        Owner = owner;
        Origin = origin;
        SourcePath = sourcePath;
        _content = content;
        LinkTarget = linkTarget;
    }

    /// <summary>The path in the layer: relative to the image root, '/'-separated, e.g. <c>lib/x86_64-linux-gnu/libc.so.6</c>.</summary>
    public string Path { get; }

    /// <summary>Whether this is a directory, a regular file or a symbolic link.</summary>
    public RootfsEntryKind Kind { get; }

    /// <summary>The permission bits, including set-id and sticky bits (<c>/tmp</c> is 1777).</summary>
    public UnixFileMode Mode { get; }

    /// <summary>The owner: root unless the entry belongs to the image's user (its home directory).</summary>
    public ImageUser Owner { get; }

    /// <summary>Why the entry is in the image (<c>--executable</c>, <c>--add …</c>, <c>DT_NEEDED of …</c>), for error messages.</summary>
    public string Origin { get; }

    /// <summary>The file on this machine the content is copied from, or <see langword="null"/> for generated content, directories and links.</summary>
    public string? SourcePath { get; }

    /// <summary>The symbolic link's target as stored, or <see langword="null"/>.</summary>
    public string? LinkTarget { get; }

    /// <summary>Whether the directory exists only as the parent of other entries (an explicit one may replace it).</summary>
    internal bool IsImplicit { get; private init; }

    /// <summary>Opens the content of a regular file.</summary>
    /// <returns>A stream the caller disposes.</returns>
    /// <exception cref="InvalidOperationException">The entry is not a regular file.</exception>
    /// <exception cref="IOException">The source file can no longer be read.</exception>
    public Stream OpenRead() =>
        _content is not null ? new MemoryStream(_content, writable: false)
        : SourcePath is not null ? File.OpenRead(SourcePath)
        : throw new InvalidOperationException($"{Path} is a {Kind}: it has no content");

    internal static RootfsEntry Directory(string path, UnixFileMode mode, ImageUser owner, string origin, bool isImplicit = false) =>
        new(path, RootfsEntryKind.Directory, mode, owner, origin, null, null, null) { IsImplicit = isImplicit };

    internal static RootfsEntry CopyOf(string path, string sourcePath, UnixFileMode mode, string origin) =>
        new(path, RootfsEntryKind.File, mode, ImageUser.Root, origin, sourcePath, null, null);

    internal static RootfsEntry Generated(string path, byte[] content, UnixFileMode mode, string origin) =>
        new(path, RootfsEntryKind.File, mode, ImageUser.Root, origin, null, content, null);

    internal static RootfsEntry SymbolicLink(string path, string target, string origin) =>
        new(path, RootfsEntryKind.SymbolicLink, (UnixFileMode)0b111_111_111, ImageUser.Root, origin, null, null, target);
}

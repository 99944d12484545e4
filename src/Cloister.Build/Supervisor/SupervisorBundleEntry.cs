using Cloister.Build.Layers;

namespace Cloister.Build.Supervisor;

/// <summary>
/// One directory or regular file of the <c>/cloister/</c> tree, with the metadata a ramdisk entry needs. Every entry is
/// owned by root (uid 0, gid 0), which is who AWS init runs the supervisor as.
/// </summary>
public sealed class SupervisorBundleEntry
{
    private readonly string? _sourcePath;
    private readonly Func<Stream>? _open;

    private SupervisorBundleEntry(string path, UnixFileMode mode, DateTimeOffset modificationTime, string? sourcePath, Func<Stream>? open, long length)
    {
        Path = path;
        Mode = mode;
        ModificationTime = modificationTime;
        _sourcePath = sourcePath;
        _open = open;
        Length = length;
    }

    /// <summary>The path relative to the image root, '/'-separated and without a leading '/', e.g. <c>cloister/lib/libc.so.6</c>.</summary>
    public string Path { get; }

    /// <summary>Whether this is a directory (otherwise a regular file; the tree holds no symbolic links).</summary>
    public bool IsDirectory => _sourcePath is null && _open is null;

    /// <summary>The permission bits: 0755 for directories and executables, 0644 for everything else.</summary>
    public UnixFileMode Mode { get; }

    /// <summary>The modification time, the same for every entry so that identical inputs give identical ramdisks.</summary>
    public DateTimeOffset ModificationTime { get; }

    /// <summary>The content length in bytes; 0 for directories.</summary>
    public long Length { get; }

    /// <summary>The host file the content is copied from (symbolic links already resolved), or <see langword="null"/> for generated content and directories.</summary>
    public string? SourcePath => _sourcePath;

    /// <summary>Opens the content for reading.</summary>
    /// <returns>A stream of exactly <see cref="Length"/> bytes, owned by the caller.</returns>
    /// <exception cref="InvalidOperationException">The entry is a directory.</exception>
    /// <exception cref="IOException">The source file can no longer be read.</exception>
    /// <exception cref="ObjectDisposedException">The entry is a runtime bundle's and the bundle is disposed.</exception>
    /// <remarks>A runtime bundle's stream throws <see cref="RuntimeBundles.RuntimeBundleException"/> with its last byte when the content is not the content checked.</remarks>
    public Stream OpenRead() =>
        _open is { } open ? open()
        : _sourcePath is not null ? File.OpenRead(_sourcePath)
        : throw new InvalidOperationException($"{Path} is a directory: it has no content");

    internal static SupervisorBundleEntry Directory(string path, DateTimeOffset modificationTime) =>
        new(path, SupervisorBundle.ExecutableMode, modificationTime, null, null, 0);

    internal static SupervisorBundleEntry CopyOf(string path, string sourcePath, UnixFileMode mode, DateTimeOffset modificationTime) =>
        new(path, mode, modificationTime, sourcePath, null, new FileInfo(sourcePath).Length);

    internal static SupervisorBundleEntry Generated(string path, byte[] content, DateTimeOffset modificationTime) =>
        Content(path, () => new MemoryContentStream(content), content.Length, SupervisorBundle.DataMode, modificationTime);

    internal static SupervisorBundleEntry Content(string path, Func<Stream> open, long length, UnixFileMode mode, DateTimeOffset modificationTime) =>
        new(path, mode, modificationTime, null, open, length);
}

using System.Formats.Tar;
using Cloister.Build.Streams;

namespace Cloister.Build.Layers;

/// <summary>
/// Applies image layers (uncompressed tar streams, oldest first) into one root filesystem with the semantics of
/// Docker's overlay storage and OCI image-spec whiteouts, and presents it in <c>docker export</c> order.
/// </summary>
/// <remarks>
/// <para>Within one layer, whiteouts (<c>.wh.name</c>) and opaque markers (<c>.wh..wh..opq</c>) apply to the lower
/// layers only, wherever they stand in the tar, as the OCI image spec requires; the layer's own entries are then
/// applied in tar order. A path's metadata comes from the newest layer that contains it, directories included (as
/// overlayfs reports a merged directory); an entry of another type replaces a path and its subtree.</para>
/// <para>Hard links share one inode: replacing or deleting one path leaves the others linked. A link may point at a
/// path from a lower layer (as umoci and containerd's overlay apply allow); its target must exist when the link is
/// applied and must not be a directory.</para>
/// <para>Directories that a layer needs but never names are created 0755 root:root with mtime 0 (Docker would stamp
/// the extraction time; a reproducible build cannot). Image builders name every directory, so this is rare.</para>
/// <para>Metadata stays in memory; file contents go to one append-only spool file in
/// <see cref="LayerFlattenerOptions.TemporaryDirectory"/>, deleted on <see cref="Dispose"/>. After a refused layer the
/// tree is incomplete and the flattener refuses further use.</para>
/// </remarks>
public sealed class LayerFlattener : IDisposable
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101;

    private readonly LayerFlattenerOptions _options;
    private readonly ContentSpool _spool;
    private bool _faulted;
    private bool _disposed;

    /// <summary>Creates an empty root filesystem and its content spool.</summary>
    /// <param name="options">Spool directory and size limits.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The temporary directory is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative, or the file limit exceeds what cpio can store.</exception>
    /// <exception cref="IOException">The spool file cannot be created (for example, the directory does not exist).</exception>
    public LayerFlattener(LayerFlattenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.TemporaryDirectory);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxFileSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxFileSize, LayerFlattenerOptions.CpioMaxFileSize);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxTotalSize);
        _options = options;
        _spool = new ContentSpool(options.TemporaryDirectory);
        Root = TreeNode.For(ImplicitDirectory());
    }

    /// <summary>How many layers have been applied.</summary>
    public int LayerCount { get; private set; }

    /// <summary>Bytes of file content spooled so far (every layer's files, including those later replaced).</summary>
    public long SpooledLength => _spool.Length;

    internal TreeNode Root { get; }

    /// <summary>Applies the next layer (one level newer than the previous).</summary>
    /// <param name="layer">The layer as an uncompressed tar stream, read to its end-of-archive block.</param>
    /// <param name="label">The caller's name for the layer, used in error messages (usually its digest).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The flattener is disposed.</exception>
    /// <exception cref="InvalidOperationException">An earlier layer was refused.</exception>
    /// <exception cref="LayerException">The layer is malformed, truncated, too large or hostile.</exception>
    /// <exception cref="IOException">Reading the layer or writing the spool failed.</exception>
    public void ApplyLayer(Stream layer, string label) =>
        ApplyCoreAsync(layer, label, useAsync: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Applies the next layer (one level newer than the previous), reading it asynchronously.</summary>
    /// <param name="layer">The layer as an uncompressed tar stream, read to its end-of-archive block.</param>
    /// <param name="label">The caller's name for the layer, used in error messages (usually its digest).</param>
    /// <param name="cancellationToken">Cancels the read; the flattener is then unusable.</param>
    /// <returns>A task that completes when the layer has been applied.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The flattener is disposed.</exception>
    /// <exception cref="InvalidOperationException">An earlier layer was refused.</exception>
    /// <exception cref="LayerException">The layer is malformed, truncated, too large or hostile.</exception>
    /// <exception cref="IOException">Reading the layer or writing the spool failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task ApplyLayerAsync(Stream layer, string label, CancellationToken cancellationToken = default) =>
        ApplyCoreAsync(layer, label, useAsync: true, cancellationToken);

    /// <summary>
    /// The root filesystem as <c>docker export</c> streams it: depth first, each directory's entries sorted bytewise,
    /// the root omitted, and the second and later paths of a multiply-linked inode as <see cref="TarEntryType.HardLink"/>
    /// to the first path.
    /// </summary>
    /// <returns>The entries in export order.</returns>
    /// <exception cref="ObjectDisposedException">The flattener is disposed.</exception>
    /// <exception cref="InvalidOperationException">A layer was refused, so the tree is incomplete.</exception>
    public IReadOnlyList<FlattenedEntry> Export()
    {
        ThrowIfUnusable();
        return ExportWalk.Walk([Root]);
    }

    /// <summary>Deletes the content spool. Streams opened from entries stop working.</summary>
    public void Dispose()
    {
        _disposed = true;
        _spool.Dispose();
    }

    internal void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_faulted)
        {
            throw new InvalidOperationException("a layer was refused or interrupted; the flattened tree is incomplete");
        }
    }

    private static Inode ImplicitDirectory() => new() { Type = TarEntryType.Directory, Mode = DirectoryMode };

    private static LayerFailure? Translate(Exception exception) => exception switch
    {
        LayerException => null,
        EndOfStreamException => LayerFailure.Truncated,
        NotSupportedException => LayerFailure.UnsupportedEntryType,
        InvalidDataException or FormatException or OverflowException or ArgumentException => LayerFailure.MalformedArchive,
        _ => null,
    };

    private async Task ApplyCoreAsync(Stream layer, string label, bool useAsync, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(label);
        ThrowIfUnusable();

        // Cleared only once the whole layer is in: a refused or interrupted layer leaves no usable half-tree.
        _faulted = true;
        var staged = new LayerChanges(LayerCount, label);
        var input = new CountingReadStream(layer);
        var guard = new TarMetadataGuard(input);
        using (var reader = new TarReader(guard, leaveOpen: true))
        {
            while (true)
            {
                // Entries start on 512-byte blocks; the reader skips the previous entry's padding lazily.
                var offset = (input.Consumed + 511) & ~511L;
                TarEntry? entry = null;
                try
                {
                    entry = useAsync
                        ? await reader.GetNextEntryAsync(copyData: false, cancellationToken)
                        : reader.GetNextEntry(copyData: false);
                    if (entry is null)
                    {
                        break;
                    }

                    // The reader stands at the entry's data; the next header follows the data and its padding.
                    guard.ExpectHeaderAt((input.Consumed + entry.Length + 511) & ~511L);

                    await StageAsync(staged, entry, offset, useAsync, cancellationToken);
                }
                catch (Exception ex) when (Translate(ex) is { } failure)
                {
                    throw staged.Fail(failure, entry?.Name, offset, ex.Message, ex);
                }
            }
        }

        // Past the end-of-archive blocks to the stream's end: the image sources verify a layer's digest only
        // there, and a layer whose digest is unverified must never be committed.
        if (useAsync)
        {
            await input.CopyToAsync(Stream.Null, cancellationToken);
        }
        else
        {
            input.CopyTo(Stream.Null);
        }

        Commit(staged);
        LayerCount++;
        _faulted = false;
    }

    private async Task StageAsync(LayerChanges layer, TarEntry entry, long offset, bool useAsync, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
        {
            return;
        }

        var type = entry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile => TarEntryType.RegularFile,
            TarEntryType.Directory or TarEntryType.SymbolicLink or TarEntryType.HardLink or TarEntryType.CharacterDevice
                or TarEntryType.BlockDevice or TarEntryType.Fifo => entry.EntryType,
            _ => throw layer.Fail(LayerFailure.UnsupportedEntryType, entry.Name, offset, $"unsupported entry type {entry.EntryType}"),
        };

        if (LayerPath.TrySplit(entry.Name, out var path) is { } pathFailure)
        {
            throw layer.Fail(pathFailure, entry.Name, offset, pathFailure switch
            {
                LayerFailure.AbsolutePath => "absolute names are refused",
                LayerFailure.PathTraversal => "'..' components are refused",
                _ => "the name contains a NUL character",
            });
        }

        if (!layer.Names.Add(LayerPath.Join(path)))
        {
            throw layer.Fail(LayerFailure.DuplicateEntry, entry.Name, offset, "the path already appeared in this layer");
        }

        if (path.Length == 0)
        {
            // Docker's export omits the root, so a layer's root entry has nothing to contribute.
            if (type != TarEntryType.Directory)
            {
                throw layer.Fail(LayerFailure.InvalidPath, entry.Name, offset, $"the root cannot be a {type}");
            }

            return;
        }

        if (Array.FindIndex(path, 0, path.Length - 1, part => part.StartsWith(WhiteoutPrefix, StringComparison.Ordinal)) >= 0)
        {
            throw layer.Fail(
                LayerFailure.UnsupportedEntryType, entry.Name, offset, "a whiteout name used as a directory (aufs metadata) is not supported");
        }

        var change = new LayerChange(entry.Name, offset, path);
        var leaf = path[^1];
        if (leaf == OpaqueMarker)
        {
            layer.OpaqueDirectories.Add(change with { Path = path[..^1] });
            return;
        }

        if (leaf.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            var hidden = leaf[WhiteoutPrefix.Length..];
            if (hidden.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                throw layer.Fail(LayerFailure.UnsupportedEntryType, entry.Name, offset, "aufs metadata ('.wh..wh.' names) is not supported");
            }

            if (hidden is "" or "." or "..")
            {
                throw layer.Fail(LayerFailure.InvalidPath, entry.Name, offset, "the whiteout names no file");
            }

            layer.Whiteouts.Add(change with { Path = [.. path[..^1], hidden] });
            return;
        }

        if (type == TarEntryType.HardLink)
        {
            layer.Additions.Add(change with { HardLinkTarget = SplitLinkTarget(layer, entry, offset) });
            return;
        }

        if (type == TarEntryType.SymbolicLink && string.IsNullOrEmpty(entry.LinkName))
        {
            throw layer.Fail(LayerFailure.InvalidPath, entry.Name, offset, "the symbolic link has an empty target");
        }

        var content = FileContent.Empty;
        if (type == TarEntryType.RegularFile)
        {
            content = await SpoolAsync(layer, entry, offset, useAsync, cancellationToken);
        }

        var device = entry as PosixTarEntry;
        layer.Additions.Add(change with
        {
            Inode = new Inode
            {
                Type = type,
                Mode = entry.Mode,
                Uid = entry.Uid,
                Gid = entry.Gid,
                ModificationTime = entry.ModificationTime.ToUnixTimeSeconds(),
                SymlinkTarget = type == TarEntryType.SymbolicLink ? entry.LinkName : null,
                DeviceMajor = type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice ? device?.DeviceMajor ?? 0 : 0,
                DeviceMinor = type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice ? device?.DeviceMinor ?? 0 : 0,
                Content = content,
            },
        });
    }

    private static string[] SplitLinkTarget(LayerChanges layer, TarEntry entry, long offset)
    {
        var failure = LayerPath.TrySplit(entry.LinkName, out var target);
        if (failure is LayerFailure.AbsolutePath or LayerFailure.PathTraversal)
        {
            throw layer.Fail(LayerFailure.HardLinkEscape, entry.Name, offset, $"hard-link target '{entry.LinkName}' leaves the root");
        }

        if (failure is not null || target.Length == 0)
        {
            throw layer.Fail(LayerFailure.InvalidPath, entry.Name, offset, $"invalid hard-link target '{entry.LinkName}'");
        }

        return target;
    }

    private async Task<FileContent> SpoolAsync(LayerChanges layer, TarEntry entry, long offset, bool useAsync, CancellationToken cancellationToken)
    {
        var length = entry.Length;
        if (length > _options.MaxFileSize)
        {
            throw layer.Fail(LayerFailure.FileTooLarge, entry.Name, offset, $"size {length} exceeds the limit of {_options.MaxFileSize} bytes");
        }

        if (length > _options.MaxTotalSize - _spool.Length)
        {
            throw layer.Fail(
                LayerFailure.TotalSizeExceeded, entry.Name, offset, $"file contents would exceed the total limit of {_options.MaxTotalSize} bytes");
        }

        var start = _spool.Length;
        var copied = entry.DataStream is null ? 0 : await _spool.AppendAsync(entry.DataStream, length, useAsync, cancellationToken);
        if (copied != length)
        {
            throw layer.Fail(LayerFailure.Truncated, entry.Name, offset, $"file data ends after {copied} of {length} bytes");
        }

        return new FileContent(_spool, start, length);
    }

    private void Commit(LayerChanges layer)
    {
        foreach (var opaque in layer.OpaqueDirectories)
        {
            ResolveDirectory(layer, opaque, opaque.Path, create: true, "the opaque directory")!.Children!.Clear();
        }

        foreach (var whiteout in layer.Whiteouts)
        {
            ResolveDirectory(layer, whiteout, whiteout.Path.AsSpan(0, whiteout.Path.Length - 1), create: false, "a parent")
                ?.Children!.Remove(whiteout.Path[^1]);
        }

        foreach (var addition in layer.Additions)
        {
            var parent = ResolveDirectory(layer, addition, addition.Path.AsSpan(0, addition.Path.Length - 1), create: true, "a parent")!;
            var leaf = addition.Path[^1];
            parent.Children!.TryGetValue(leaf, out var existing);
            if (addition.HardLinkTarget is { } target)
            {
                var linked = ResolveLinkTarget(layer, addition, target);
                if (!ReferenceEquals(existing?.Inode, linked))
                {
                    linked.LinkCount++;
                    parent.Children[leaf] = TreeNode.For(linked);
                }
            }
            else if (addition.Inode!.IsDirectory && existing is { Inode.IsDirectory: true })
            {
                // overlayfs shows a merged directory with the newest layer's metadata and every layer's children.
                existing.Inode.TakeMetadataFrom(addition.Inode);
            }
            else
            {
                parent.Children[leaf] = TreeNode.For(addition.Inode);
            }
        }
    }

    private Inode ResolveLinkTarget(LayerChanges layer, LayerChange link, string[] target)
    {
        var directory = ResolveDirectory(layer, link, target.AsSpan(0, target.Length - 1), create: false, "a parent of the hard-link target");
        if (directory is null || !directory.Children!.TryGetValue(target[^1], out var node))
        {
            throw layer.Fail(
                LayerFailure.HardLinkTargetMissing, link.Name, link.Offset, $"hard-link target '{LayerPath.Join(target)}' does not exist");
        }

        if (node.Inode.IsDirectory)
        {
            throw layer.Fail(
                LayerFailure.HardLinkToDirectory, link.Name, link.Offset, $"hard-link target '{LayerPath.Join(target)}' is a directory");
        }

        return node.Inode;
    }

    /// <summary>
    /// Walks <paramref name="path"/> from the root as directories. A symbolic link on the way is refused, never
    /// followed: a layer that writes through one (<c>lib -> /etc</c>, then <c>lib/passwd</c>) is a breakout attempt.
    /// </summary>
    private TreeNode? ResolveDirectory(LayerChanges layer, LayerChange change, ReadOnlySpan<string> path, bool create, string role)
    {
        var node = Root;
        for (var i = 0; i < path.Length; i++)
        {
            if (!node.Children!.TryGetValue(path[i], out var child))
            {
                if (!create)
                {
                    return null;
                }

                child = TreeNode.For(ImplicitDirectory());
                node.Children[path[i]] = child;
            }
            else if (!child.Inode.IsDirectory)
            {
                var where = LayerPath.Join(path[..(i + 1)].ToArray());
                throw child.Inode.Type == TarEntryType.SymbolicLink
                    ? layer.Fail(LayerFailure.SymlinkInPath, change.Name, change.Offset, $"{role}, '{where}', is a symbolic link")
                    : layer.Fail(LayerFailure.ParentNotDirectory, change.Name, change.Offset, $"{role}, '{where}', is not a directory");
            }

            node = child;
        }

        return node;
    }

    /// <summary>One entry of a layer, validated but not yet applied.</summary>
    private sealed record LayerChange(string Name, long Offset, string[] Path)
    {
        public Inode? Inode { get; init; }

        public string[]? HardLinkTarget { get; init; }
    }

    /// <summary>A layer read to its end: deletions that apply to the lower layers, then its own entries in tar order.</summary>
    private sealed class LayerChanges(int index, string label)
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public List<LayerChange> OpaqueDirectories { get; } = [];

        public List<LayerChange> Whiteouts { get; } = [];

        public List<LayerChange> Additions { get; } = [];

        public LayerException Fail(LayerFailure failure, string? entryName, long offset, string detail, Exception? inner = null) =>
            new(failure, index, label, entryName, offset, detail, inner);
    }
}

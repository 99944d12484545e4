using System.Formats.Tar;

namespace Cloister.RuntimeBundler;

/// <summary>
/// A directory that stands for <c>/</c> while packages are extracted into it. Nothing is written outside it: a name
/// that is absolute or has a <c>..</c> component is refused, and so is a name whose parent is a symbolic link (a link
/// extracted earlier, from this package or another, may point anywhere), and files are created with
/// <see cref="FileMode.CreateNew"/>, which never follows a link.
/// </summary>
internal sealed class ExtractionRoot
{
    // Permission bits only: a set-user-ID bit has no business in a build root.
    private const UnixFileMode PermissionBits = (UnixFileMode)0b111_111_111;

    // The extraction writes into every directory it creates, whatever mode the package gives it.
    private const UnixFileMode OwnerAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // A directory the tarball names no entry for (dpkg creates those 0755 too).
    private const UnixFileMode ImpliedDirectoryMode = (UnixFileMode)0b111_101_101;

    private readonly string _root;

    public ExtractionRoot(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    private enum Kind
    {
        None,
        Directory,
        SymbolicLink,
        Other,
    }

    /// <summary>Writes one tar entry below the root.</summary>
    /// <exception cref="DebFormatException">The entry is refused; the message names <paramref name="source"/> and the entry.</exception>
    public async Task AddAsync(TarEntry entry, string source, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
        {
            return;
        }

        var components = Components(entry.Name, source);
        if (components.Length == 0)
        {
            // "./", the root itself: its mode is the caller's business.
            return;
        }

        var path = ParentsChecked(components, entry.Name, source);
        var existing = KindOf(path);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (existing == Kind.Directory)
                {
                    // Packages share directories (usr/, usr/lib/): the first one's mode stands.
                    return;
                }

                RefuseExisting(existing, entry.Name, source);
                Directory.CreateDirectory(path, (entry.Mode & PermissionBits) | OwnerAll);
                return;

            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RefuseExisting(existing, entry.Name, source);
                var mode = entry.Mode & PermissionBits;
                await using (var file = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = mode,
                    Options = FileOptions.Asynchronous,
                }))
                {
                    if (entry.DataStream is { } data)
                    {
                        await data.CopyToAsync(file, cancellationToken);
                    }
                }

                // The create mode went through the umask; the package's mode is what the root must have.
                File.SetUnixFileMode(path, mode);
                File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
                return;

            case TarEntryType.SymbolicLink:
                RefuseExisting(existing, entry.Name, source);
                if (entry.LinkName.Length == 0 || entry.LinkName.Contains('\0', StringComparison.Ordinal))
                {
                    throw new DebFormatException($"{source}: the symbolic link '{Printable.Of(entry.Name)}' has no valid target");
                }

                // The target is kept as written, absolute or not: the root is used as '/', where it resolves as Debian meant.
                File.CreateSymbolicLink(path, entry.LinkName);
                return;

            default:
                throw new DebFormatException($"{source}: '{Printable.Of(entry.Name)}' is a {entry.EntryType} entry; only files, directories and symbolic links are extracted");
        }
    }

    /// <summary>The name's components, with dpkg's leading <c>./</c> and a directory's trailing <c>/</c> removed.</summary>
    private static string[] Components(string name, string source)
    {
        var relative = name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
        relative = relative.EndsWith('/') ? relative[..^1] : relative;
        if (relative is "" or ".")
        {
            return [];
        }

        if (relative.StartsWith('/'))
        {
            throw new DebFormatException($"{source}: '{Printable.Of(name)}' is an absolute path");
        }

        var components = relative.Split('/');
        if (components.Any(component => component is "" or "." or ".."))
        {
            throw new DebFormatException($"{source}: '{Printable.Of(name)}' has an empty, '.' or '..' component");
        }

        return components;
    }

    /// <summary>The entry's full path, after making sure every directory above it is a real directory inside the root (creating missing ones).</summary>
    private string ParentsChecked(string[] components, string name, string source)
    {
        var path = _root;
        foreach (var component in components[..^1])
        {
            path = Path.Combine(path, component);
            switch (KindOf(path))
            {
                case Kind.None:
                    Directory.CreateDirectory(path, ImpliedDirectoryMode);
                    break;
                case Kind.Directory:
                    break;
                case Kind.SymbolicLink:
                    throw new DebFormatException($"{source}: '{Printable.Of(name)}' goes through the symbolic link '{Relative(path)}', which could lead out of the root");
                default:
                    throw new DebFormatException($"{source}: '{Printable.Of(name)}' goes through '{Relative(path)}', which is not a directory");
            }
        }

        return Path.Combine(path, components[^1]);
    }

    private static void RefuseExisting(Kind existing, string name, string source)
    {
        if (existing != Kind.None)
        {
            var what = existing switch
            {
                Kind.Directory => "a directory",
                Kind.SymbolicLink => "a symbolic link",
                _ => "a file",
            };
            throw new DebFormatException($"{source}: '{Printable.Of(name)}' is already in the root as {what} (from this package or one before it)");
        }
    }

    private string Relative(string path) => Path.GetRelativePath(_root, path);

    /// <summary>What is at a path, without following a symbolic link there.</summary>
    private static Kind KindOf(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return Kind.SymbolicLink;
        }

        return Directory.Exists(path) ? Kind.Directory : info.Exists ? Kind.Other : Kind.None;
    }
}

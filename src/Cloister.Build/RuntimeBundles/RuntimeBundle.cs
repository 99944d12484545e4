using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Layers;
using Cloister.Build.Supervisor;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;

namespace Cloister.Build.RuntimeBundles;

/// <summary>
/// The enclave runtime as one artifact: the whole <c>/cloister/</c> tree (the supervisor, glibc's loader and libraries,
/// OpenSSL, the OpenSSL configuration and <c>runtime.json</c>) in the single tar form <see cref="Write"/> produces,
/// identified by its SHA-384. <c>cloister build</c> adds exactly these bytes to every image, so two builds with the same
/// runtime digest measure the same <c>/cloister/</c> whatever machine they ran on.
/// </summary>
/// <remarks>
/// A bundle is checked in one forward pass before anything is taken from it, and never held in memory (it is about
/// 20 MiB): its digest when one is expected, every header against the canonical form, the order and kind of every
/// entry and the files every runtime has. The entries read their bytes from the open file when they are opened, and
/// each refuses bytes other than the ones hashed (<see cref="RuntimeBundleError.ChangedAfterCheck"/>), so what an
/// image receives is what was checked even if the file is modified in place. Nothing on this path depends on the
/// operating system, so any machine with .NET can build images.
/// </remarks>
public sealed class RuntimeBundle : IDisposable
{
    /// <summary>The artifact's file name, as the CLI carries it.</summary>
    public const string FileName = "cloister-runtime.tar";

    /// <summary>The largest bundle read: far above the real one, small enough to hold in memory.</summary>
    public const int MaxSize = 256 << 20;

    /// <summary>The provenance file inside the tree.</summary>
    public const string ProvenancePath = EnclavePaths.Root + "/runtime.json";

    /// <summary>The largest <c>runtime.json</c> read: the real one is under a kilobyte.</summary>
    public const int MaxProvenanceSize = 1 << 20;

    internal const string DigestPrefix = "sha384:";

    private static readonly SearchValues<char> s_lowerHex = SearchValues.Create("0123456789abcdef");

    private static readonly string[] s_required =
        [Relative(SupervisorBundle.ExecutablePath), Relative(SupervisorBundle.LoaderPath), Relative(SupervisorBundle.OpenSslConfigPath), Relative(SupervisorBundle.HomePath), Relative(ProvenancePath)];

    private readonly FileStream? _file;

    private RuntimeBundle(string digest, RuntimeProvenance provenance, IReadOnlyList<SupervisorBundleEntry> entries, FileStream? file)
    {
        _file = file;
        Digest = digest;
        Provenance = provenance;
        Entries = entries;
    }

    /// <summary>The bundle's identity: <c>sha384:</c> and the lowercase hex SHA-384 of its bytes.</summary>
    public string Digest { get; }

    /// <summary>Who produced it and from which packages (<c>/cloister/runtime.json</c>).</summary>
    public RuntimeProvenance Provenance { get; }

    /// <summary>Every directory and file of the tree, in the bundle's (ordinal) order, directories before their contents.</summary>
    public IReadOnlyList<SupervisorBundleEntry> Entries { get; }

    /// <summary>The digest text of some bytes, as <see cref="Digest"/> shows it.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns><c>sha384:</c> and 96 lowercase hex digits.</returns>
    public static string DigestOf(ReadOnlySpan<byte> bytes) => DigestPrefix + Convert.ToHexStringLower(SHA384.HashData(bytes));

    /// <summary>Whether a text is a digest in the form <see cref="Digest"/> shows (<c>sha384:</c> and 96 lowercase hex digits).</summary>
    /// <param name="text">The text.</param>
    /// <returns><see langword="true"/> when it is.</returns>
    public static bool IsDigest(string? text) =>
        text is { Length: 7 + 96 } && text.StartsWith(DigestPrefix, StringComparison.Ordinal)
        && !text.AsSpan(DigestPrefix.Length).ContainsAnyExcept(s_lowerHex);

    /// <summary>
    /// Opens and checks a bundle file in one pass, without holding it in memory: the file stays open, and the entries
    /// read their bytes from it when they are opened (so a path replaced after the check does not matter).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="expectedDigest">The digest it must have (<see cref="IsDigest"/>), or <see langword="null"/> to accept any well-formed bundle.</param>
    /// <returns>The bundle, owned by the caller: disposing it closes the file.</returns>
    /// <exception cref="ArgumentException"><paramref name="expectedDigest"/> is not a digest.</exception>
    /// <exception cref="RuntimeBundleException">The file is too large, has another digest, or is not a well-formed bundle.</exception>
    /// <exception cref="IOException">The file cannot be read, is not a regular file, or shrank while it was read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened.</exception>
    public static RuntimeBundle Read(string path, string? expectedDigest = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckExpectedDigest(expectedDigest);
        // Opened as any streamed input is, so a pipe or a device is refused before anything is read.
        var file = StreamedFile.OpenRead(path, "the runtime bundle");
        try
        {
            var handle = file.SafeFileHandle;
            return Read(file.Length, (start, length) => new SpoolReadStream(handle, start, length), path, expectedDigest, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Checks a bundle held in memory, exactly as <see cref="Read(string, string?)"/> checks a file.</summary>
    /// <param name="bytes">The bundle's bytes; the entries read from them when they are opened.</param>
    /// <param name="source">What to call the bundle in messages (its path).</param>
    /// <param name="expectedDigest">The digest it must have, or <see langword="null"/> to accept any well-formed bundle.</param>
    /// <returns>The bundle.</returns>
    /// <exception cref="ArgumentException"><paramref name="expectedDigest"/> is not a digest.</exception>
    /// <exception cref="RuntimeBundleException">The bundle is too large, has another digest, or is not well-formed.</exception>
    public static RuntimeBundle Read(ReadOnlyMemory<byte> bytes, string source, string? expectedDigest = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckExpectedDigest(expectedDigest);
        return Read(bytes.Length, (start, length) => new MemoryContentStream(bytes.Slice((int)start, (int)length)), source, expectedDigest, file: null);
    }

    /// <summary>Closes the bundle file; the entries can no longer be opened.</summary>
    public void Dispose() => _file?.Dispose();

    private static void CheckExpectedDigest(string? expectedDigest)
    {
        if (expectedDigest is not null && !IsDigest(expectedDigest))
        {
            throw new ArgumentException($"'{expectedDigest}' is not a runtime digest (sha384: and 96 lowercase hex digits)", nameof(expectedDigest));
        }
    }

    // The one core of both overloads: a single forward pass hashes every byte and checks every header, recording each
    // file's own SHA-256 so that its bytes are checked again as they are read later (RuntimeBundleContentStream).
    private static RuntimeBundle Read(long length, Func<long, long, Stream> open, string source, string? expectedDigest, FileStream? file)
    {
        if (length > MaxSize)
        {
            throw new RuntimeBundleException(RuntimeBundleError.TooLarge, $"{source}: {length} bytes; a runtime bundle is at most {MaxSize} bytes");
        }

        using var reader = new RuntimeBundleReader(open(0, length), length, source);
        Scan scan;
        try
        {
            scan = ReadEntries(reader, open, source);
        }
        catch (RuntimeBundleException) when (expectedDigest is not null)
        {
            // As when the bundle was checked whole: another digest is the reason given, before any structural fault.
            CheckDigest(reader.HashToEnd(), expectedDigest, source);
            throw;
        }

        var digest = reader.HashToEnd();
        CheckDigest(digest, expectedDigest, source);
        var byPath = scan.Entries.ToDictionary(entry => entry.Path, StringComparer.Ordinal);
        foreach (var required in s_required)
        {
            if (!byPath.ContainsKey(required))
            {
                throw new RuntimeBundleException(RuntimeBundleError.MissingEntry, $"{source}: the runtime has no {required}");
            }
        }

        // AWS init executes the loader, and the loader maps the supervisor: both must be executable files.
        foreach (var executable in (ReadOnlySpan<string>)[Relative(SupervisorBundle.ExecutablePath), Relative(SupervisorBundle.LoaderPath)])
        {
            if (byPath[executable] is { IsDirectory: true } or { Mode: not SupervisorBundle.ExecutableMode })
            {
                throw new RuntimeBundleException(RuntimeBundleError.UnexpectedEntry, $"{source}: {executable} must be a file with mode 0755");
            }
        }

        if (scan.Provenance is not { } json)
        {
            throw new RuntimeBundleException(
                RuntimeBundleError.BadProvenance, $"{source}: {Relative(ProvenancePath)}: {byPath[Relative(ProvenancePath)].Length} bytes; provenance is at most {MaxProvenanceSize} bytes");
        }

        try
        {
            return new RuntimeBundle(digest, RuntimeProvenance.Parse(json), scan.Entries, file);
        }
        catch (FormatException ex)
        {
            throw new RuntimeBundleException(RuntimeBundleError.BadProvenance, $"{source}: {Relative(ProvenancePath)}: {ex.Message}", ex);
        }
    }

    private static void CheckDigest(string digest, string? expectedDigest, string source)
    {
        if (expectedDigest is not null && digest != expectedDigest)
        {
            throw new RuntimeBundleException(RuntimeBundleError.DigestMismatch, $"{source}: the runtime's digest is {digest}, expected {expectedDigest}");
        }
    }

    /// <summary>Writes a tree and its provenance as a bundle, in the one form <see cref="Read(ReadOnlyMemory{byte}, string, string?)"/> accepts.</summary>
    /// <param name="tree">The tree (<see cref="SupervisorBundle.Create"/>); its modification times are not kept.</param>
    /// <param name="provenance">Written as <c>/cloister/runtime.json</c>.</param>
    /// <param name="output">Receives the bundle.</param>
    /// <returns>The bundle's digest.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A path of the tree does not fit a ustar name, or the tree already holds a <c>runtime.json</c>.</exception>
    /// <exception cref="IOException">A file of the tree cannot be read, or writing failed.</exception>
    public static string Write(SupervisorBundle tree, RuntimeProvenance provenance, Stream output)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(provenance);
        ArgumentNullException.ThrowIfNull(output);
        if (tree.Entries.Any(entry => entry.Path == Relative(ProvenancePath)))
        {
            throw new ArgumentException($"the tree already has {Relative(ProvenancePath)}", nameof(tree));
        }

        var entries = tree.Entries
            .Append(SupervisorBundleEntry.Generated(Relative(ProvenancePath), provenance.ToUtf8Json(), DateTimeOffset.UnixEpoch))
            .OrderBy(entry => entry.Path, StringComparer.Ordinal)
            .ToList();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        var block = new byte[RuntimeBundleTar.BlockSize];
        foreach (var entry in entries)
        {
            var name = entry.IsDirectory ? entry.Path + "/" : entry.Path;
            if (name.Length > RuntimeBundleTar.MaxNameLength || !Ascii.IsValid(name))
            {
                throw new ArgumentException($"{name}: a runtime path is ASCII and at most {RuntimeBundleTar.MaxNameLength} bytes", nameof(tree));
            }

            RuntimeBundleTar.WriteHeader(block, name, entry.IsDirectory, entry.Mode, entry.Length);
            Emit(block);
            if (entry.IsDirectory)
            {
                continue;
            }

            using var content = entry.OpenRead();
            long copied = 0;
            int read;
            while ((read = content.Read(block)) > 0)
            {
                Emit(block.AsSpan(0, read));
                copied += read;
            }

            if (copied != entry.Length)
            {
                throw new IOException($"{entry.SourcePath ?? entry.Path} changed while it was bundled: {copied} bytes, expected {entry.Length}");
            }

            var padding = (int)((RuntimeBundleTar.BlockSize - (copied % RuntimeBundleTar.BlockSize)) % RuntimeBundleTar.BlockSize);
            Array.Clear(block);
            Emit(block.AsSpan(0, padding));
        }

        Array.Clear(block);
        Emit(block);
        Emit(block);
        return DigestPrefix + Convert.ToHexStringLower(hash.GetHashAndReset());

        void Emit(ReadOnlySpan<byte> bytes)
        {
            output.Write(bytes);
            hash.AppendData(bytes);
        }
    }

    private static Scan ReadEntries(RuntimeBundleReader reader, Func<long, long, Stream> open, string source)
    {
        var entries = new List<SupervisorBundleEntry>();
        var directories = new HashSet<string>(StringComparer.Ordinal);
        Span<byte> header = stackalloc byte[RuntimeBundleTar.BlockSize];
        Span<byte> canonical = stackalloc byte[RuntimeBundleTar.BlockSize];
        var length = reader.Length;
        byte[]? provenance = null;
        string? previous = null;
        while (true)
        {
            var offset = reader.Position;
            if (length - offset < RuntimeBundleTar.BlockSize)
            {
                throw new RuntimeBundleException(RuntimeBundleError.Truncated, $"{source}: the archive ends at byte offset {length} without its end-of-archive blocks");
            }

            reader.Read(header);
            if (!header.ContainsAnyExcept((byte)0))
            {
                if (length - offset != 2 * RuntimeBundleTar.BlockSize || reader.Read(header).ContainsAnyExcept((byte)0))
                {
                    throw new RuntimeBundleException(RuntimeBundleError.Truncated, $"{source}: at byte offset {offset}: the archive must end with exactly two zero blocks");
                }

                return new Scan(entries, provenance);
            }

            var (name, directory, mode, size) = ParseHeader(header, offset, source);
            RuntimeBundleTar.WriteHeader(canonical, name, directory, mode, size);
            if (!header.SequenceEqual(canonical))
            {
                throw new RuntimeBundleException(
                    RuntimeBundleError.MalformedHeader,
                    $"{source}: the header at byte offset {offset} ({name}) differs from the canonical one in its {RuntimeBundleTar.FirstDifferingField(header, canonical)} field");
            }

            var path = directory ? name[..^1] : name;
            CheckEntry(path, directory, mode, previous, directories, offset, source);
            previous = path;
            offset += RuntimeBundleTar.BlockSize;
            var padded = (size + RuntimeBundleTar.BlockSize - 1) / RuntimeBundleTar.BlockSize * RuntimeBundleTar.BlockSize;
            if (length - offset < padded)
            {
                throw new RuntimeBundleException(RuntimeBundleError.Truncated, $"{source}: {path} at byte offset {offset} claims {size} bytes, more than the archive holds");
            }

            if (directory)
            {
                directories.Add(path);
                entries.Add(SupervisorBundleEntry.Directory(path, DateTimeOffset.UnixEpoch));
                continue;
            }

            var keep = path == Relative(ProvenancePath) && size <= MaxProvenanceSize ? new byte[size] : null;
            var contentHash = reader.ReadContent(size, keep);
            provenance ??= keep;
            if (reader.Read(header[..(int)(padded - size)]).ContainsAnyExcept((byte)0))
            {
                throw new RuntimeBundleException(RuntimeBundleError.MalformedHeader, $"{source}: {path}: the padding after its content at byte offset {offset + size} is not zero");
            }

            var (start, count) = (offset, size);
            entries.Add(SupervisorBundleEntry.Content(
                path, () => new RuntimeBundleContentStream(open(start, count), count, contentHash, source, path), size, mode, DateTimeOffset.UnixEpoch));
        }
    }

    private static (string Name, bool Directory, UnixFileMode Mode, long Size) ParseHeader(ReadOnlySpan<byte> header, long offset, string source)
    {
        var nameField = header[..100];
        var nameLength = nameField.IndexOf((byte)0);
        var type = header[156];
        var mode = RuntimeBundleTar.ParseOctal(header.Slice(100, 8));
        var size = RuntimeBundleTar.ParseOctal(header.Slice(124, 12));
        var problem = nameLength <= 0 || !Ascii.IsValid(nameField[..nameLength]) || nameField[..nameLength].ContainsAnyInRange((byte)0, (byte)0x1f) ? "name"
            : type is not ((byte)'0' or (byte)'5') ? "typeflag"
            : mode is null ? "mode"
            : size is null || size > MaxSize ? "size"
            : null;
        if (problem is not null)
        {
            throw new RuntimeBundleException(RuntimeBundleError.MalformedHeader, $"{source}: the header at byte offset {offset} has a malformed {problem} field");
        }

        var name = Encoding.ASCII.GetString(nameField[..nameLength]);
        var directory = type == (byte)'5';
        if (directory != name.EndsWith('/') || (directory && size != 0))
        {
            throw new RuntimeBundleException(RuntimeBundleError.UnexpectedEntry, $"{source}: {name} at byte offset {offset}: a directory's name ends in '/' and it has no content, a file's does not");
        }

        return (name, directory, (UnixFileMode)mode!.Value, size!.Value);
    }

    private static void CheckEntry(string path, bool directory, UnixFileMode mode, string? previous, HashSet<string> directories, long offset, string source)
    {
        var root = Relative(EnclavePaths.Root);
        var segments = path.Split('/');
        var parent = path.Contains('/', StringComparison.Ordinal) ? path[..path.LastIndexOf('/')] : null;
        var problem =
            segments[0] != root || segments.Any(segment => segment is "" or "." or "..") ? $"only {root}/ and what is below it may be in a runtime"
            : previous is not null && string.CompareOrdinal(previous, path) >= 0 ? $"entries are in ordinal order, each once; it comes after {previous}"
            : parent is null && !directory ? $"{root} is a directory"
            : parent is not null && !directories.Contains(parent) ? $"its directory {parent} must come first"
            : directory ? (mode == SupervisorBundle.ExecutableMode ? null : "a directory's mode is 0755")
            : mode == SupervisorBundle.ExecutableMode || mode == SupervisorBundle.DataMode ? null : "a file's mode is 0755 or 0644";
        if (problem is not null)
        {
            throw new RuntimeBundleException(RuntimeBundleError.UnexpectedEntry, $"{source}: {path} at byte offset {offset}: {problem}");
        }
    }

    private static string Relative(string absolute) => absolute.TrimStart('/');

    private sealed record Scan(List<SupervisorBundleEntry> Entries, byte[]? Provenance);
}

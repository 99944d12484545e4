using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Cloister.RuntimeBundler;

/// <summary>
/// <c>runtime/debian-packages.lock</c>: the exact Debian packages, by version and SHA-256, that the runtime bundle and
/// the supervisor's link are made of. One package per line, seven tab-separated fields: set, name, version,
/// architecture, SHA-256, size in bytes, path below the mirror's root. Lines starting with <c>#</c> and empty lines are
/// comments.
/// </summary>
public sealed partial class DebianPackageLock
{
    /// <summary>The packages whose files go into every image: glibc's loader and libraries, OpenSSL.</summary>
    public const string RuntimeSet = "runtime";

    /// <summary>The packages the supervisor is linked with: gcc's driver, binutils, glibc's and libgcc's development files.</summary>
    public const string ToolchainSet = "toolchain";

    /// <summary>A lock is a short text file; anything larger is not one.</summary>
    internal const int MaxBytes = 1 << 20;

    private const int FieldCount = 7;

    private DebianPackageLock(IReadOnlyList<DebianPackage> packages) => Packages = packages;

    /// <summary>Every package, in the file's order.</summary>
    public IReadOnlyList<DebianPackage> Packages { get; }

    /// <summary>Reads and checks a lock file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The lock.</returns>
    /// <exception cref="FormatException">A line is malformed; the message names the file, the line and the field.</exception>
    /// <exception cref="IOException">The file cannot be read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file is not readable.</exception>
    public static DebianPackageLock Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        if (file.Length > MaxBytes)
        {
            throw new FormatException($"{path}: {file.Length} bytes, more than a lock file's {MaxBytes}");
        }

        using var reader = new StreamReader(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        string text;
        try
        {
            text = reader.ReadToEnd();
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException($"{path}: not UTF-8");
        }

        return Parse(text, path);
    }

    /// <summary>Parses a lock's text.</summary>
    /// <param name="text">The lock's contents.</param>
    /// <param name="source">What errors call the text (its file name).</param>
    /// <returns>The lock.</returns>
    /// <exception cref="FormatException">A line is malformed, or a set pins the same package twice; the message names the line and the field.</exception>
    public static DebianPackageLock Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var packages = new List<DebianPackage>();
        var firstLine = new Dictionary<(string Set, string Name, string Architecture), int>();
        var lines = text.Split('\n');
        // A final newline ends the last line; it does not start an empty one.
        var count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (var index = 0; index < count; index++)
        {
            var line = lines[index];
            var number = index + 1;
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var package = ParseLine(line, $"{source}:{number}");
            if (firstLine.TryGetValue((package.Set, package.Name, package.Architecture), out var first))
            {
                throw new FormatException($"{source}:{number}: {package.Name} {package.Architecture} is pinned twice in the {package.Set} set (first on line {first})");
            }

            firstLine.Add((package.Set, package.Name, package.Architecture), number);
            packages.Add(package);
        }

        return new DebianPackageLock(packages);
    }

    /// <summary>The packages of one set, in the file's order.</summary>
    /// <param name="set"><see cref="RuntimeSet"/> or <see cref="ToolchainSet"/>.</param>
    /// <returns>The packages; empty when the lock pins none in that set.</returns>
    /// <exception cref="ArgumentException"><paramref name="set"/> is not a set a lock can hold.</exception>
    public IReadOnlyList<DebianPackage> InSet(string set) =>
        IsSet(set)
            ? Packages.Where(package => package.Set == set).ToList()
            : throw new ArgumentException($"'{set}' is not a package set: {RuntimeSet} or {ToolchainSet}", nameof(set));

    /// <summary>Whether a lock line may name this set.</summary>
    /// <param name="set">The set's name.</param>
    /// <returns><see langword="true"/> for <see cref="RuntimeSet"/> and <see cref="ToolchainSet"/>.</returns>
    public static bool IsSet(string set) => set is RuntimeSet or ToolchainSet;

    private static DebianPackage ParseLine(string line, string where)
    {
        if (line.EndsWith('\r'))
        {
            throw new FormatException($"{where}: the line ends with a carriage return; a lock's lines end with a line feed alone");
        }

        var fields = line.Split('\t');
        if (fields.Length != FieldCount)
        {
            throw new FormatException($"{where}: {fields.Length} tab-separated fields, expected {FieldCount} (set, name, version, architecture, SHA-256, size, path)");
        }

        var (set, name, version, architecture, sha256, size, path) = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]);
        Require(IsSet(set), where, "set", set, $"{RuntimeSet} or {ToolchainSet}");
        Require(PackageName().IsMatch(name), where, "package name", name, "a Debian package name");
        Require(DebianVersion().IsMatch(version), where, "version", version, "a Debian version");
        Require(Architecture().IsMatch(architecture), where, "architecture", architecture, "a Debian architecture");
        Require(Sha256().IsMatch(sha256), where, "SHA-256", sha256, "64 lowercase hexadecimal digits");
        Require(Size().IsMatch(size), where, "size", size, "a positive number of bytes");
        Require(MirrorPath().IsMatch(path), where, "path", path, "a relative path ending in .deb, without '.' or '..' components");
        return new DebianPackage(set, name, version, architecture, sha256, long.Parse(size, NumberStyles.None, CultureInfo.InvariantCulture), path);
    }

    private static void Require(bool valid, string where, string field, string value, string expected)
    {
        if (!valid)
        {
            throw new FormatException($"{where}: {field} '{Printable.Of(value)}' is not {expected}");
        }
    }

    // Debian Policy 5.6.1.
    [GeneratedRegex(@"\A[a-z0-9][a-z0-9+.-]+\z")]
    private static partial Regex PackageName();

    // Debian Policy 5.6.12: [epoch:]upstream[-revision], upstream starting with a digit.
    [GeneratedRegex(@"\A(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*\z")]
    private static partial Regex DebianVersion();

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9-]*\z")]
    private static partial Regex Architecture();

    [GeneratedRegex(@"\A[0-9a-f]{64}\z")]
    private static partial Regex Sha256();

    // At most 15 digits: far above any package, far below long.MaxValue.
    [GeneratedRegex(@"\A[1-9][0-9]{0,14}\z")]
    private static partial Regex Size();

    // Components start with a letter or digit, so none is '.', '..' or hidden, and none is empty.
    [GeneratedRegex(@"\A(?:[A-Za-z0-9][A-Za-z0-9.+~_-]*/)*[A-Za-z0-9][A-Za-z0-9.+~_-]*\.deb\z")]
    private static partial Regex MirrorPath();
}

using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Cloister.Build.Supervisor;

namespace Cloister.Build.Images.Packing;

/// <summary>
/// Packs one executable into a single-layer OCI image without Docker: the executable, the dynamic loader and its
/// <c>DT_NEEDED</c> closure copied from this machine to the paths glibc's loader searches without a cache, a minimal
/// user database, <c>/tmp</c>, extra files, and the run config.
/// </summary>
/// <remarks>
/// The output is deterministic: entries sorted by path, one modification time, owners root unless they belong to the
/// image's user, and a fixed gzip header, so the same inputs give the same manifest digest on every machine that has
/// the same libraries.
/// </remarks>
public static class ImagePacker
{
    /// <summary>Where the libraries go: the multiarch directory Debian's glibc loader searches when there is no <c>/etc/ld.so.cache</c>.</summary>
    public const string LibraryDirectory = "/lib/x86_64-linux-gnu";

    /// <summary>The tag written when the output reference names none.</summary>
    public const string DefaultTag = "latest";

    private const ushort X86_64 = 62;
    private const string CaBundlePath = "/etc/ssl/certs/ca-certificates.crt";

    // Where Debian's OpenSSL (OPENSSLDIR /usr/lib/ssl) looks by default; links, as on Debian, to the one bundle.
    private const string OpenSslDirectory = "/usr/lib/ssl";
    private const UnixFileMode TmpMode = (UnixFileMode)0b1_111_111_111;
    private const UnixFileMode HomeMode = (UnixFileMode)0b111_101_101;
    private const UnixFileMode RootHomeMode = (UnixFileMode)0b111_000_000;

    /// <summary>Packs an image into an OCI layout and tags it.</summary>
    /// <param name="options">What goes in.</param>
    /// <param name="output">An <c>oci-layout:DIR[:TAG]</c> reference; the directory is created, or an existing layout gains (or moves) the tag.</param>
    /// <returns>The descriptors written.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="output"/> is not an OCI layout reference with a tag.</exception>
    /// <exception cref="FileNotFoundException">The executable, an addition, the CA bundle or a library the executable needs is not on this machine.</exception>
    /// <exception cref="FormatException">
    /// The executable is not an x86-64 ELF file; an environment entry is not <c>NAME=value</c>; an image path is not
    /// absolute; or two inputs would put different files at one path. The message names the input.
    /// </exception>
    /// <exception cref="IOException">A file cannot be read or the layout cannot be written.</exception>
    /// <exception cref="ImageSourceException">The existing layout's index.json is not JSON.</exception>
    [UnsupportedOSPlatform("windows")]
    public static ImagePackResult Pack(ImagePackOptions options, ImageReference output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        if (output.Kind != ImageReferenceKind.OciLayout || output.Digest is not null)
        {
            throw new ArgumentException($"'{output}' is not oci-layout:DIR[:TAG]: an image is packed into an OCI layout under a tag", nameof(output));
        }

        foreach (var variable in options.Env)
        {
            if (variable.IndexOf('=', StringComparison.Ordinal) <= 0)
            {
                throw new FormatException($"environment entry '{variable}' is not NAME=value");
            }
        }

        var executablePath = ImagePath.Normalize(options.ExecutablePath ?? "/app/" + Path.GetFileName(options.Executable), "executable path");
        var workingDir = options.WorkingDir is null ? null : ImagePath.Normalize(options.WorkingDir, "working directory");
        var tree = new RootfsTree();
        AddExecutable(tree, options, executablePath);
        if (options.WithCaCertificates)
        {
            AddCaCertificates(tree, options.CaCertificates);
        }

        foreach (var addition in options.Additions)
        {
            tree.AddFromHost(addition.Source, ImagePath.Normalize(addition.Destination, "--add destination"), $"--add {addition.Source}:{addition.Destination}");
        }

        if (workingDir is not null)
        {
            tree.Add(RootfsEntry.Directory(workingDir, RootfsTree.DirectoryMode, ImageUser.Root, "--workdir"));
        }

        AddSystemFiles(tree, options.User);
        var entries = tree.Entries.ToArray();

        var layout = new OciLayoutWriter(output.Path!);
        var (diffId, layerDigest, layerSize) = layout.WriteBlob(
            stream => LayerTarWriter.Write(entries, options.ModificationTime, stream),
            written => written.Digest);
        var layer = new ImageDescriptor(ImageMediaTypes.OciLayerGzip, layerDigest, layerSize);
        var entrypoint = options.Entrypoint ?? (options.Cmd is null ? ["/" + executablePath] : null);
        var config = layout.WriteBlob(ImageMediaTypes.OciConfig, ImageJson.Serialize(json => WriteConfig(json, options, entrypoint, workingDir, diffId)));
        var manifest = layout.WriteBlob(ImageMediaTypes.OciManifest, ImageJson.Serialize(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", ImageMediaTypes.OciManifest);
            ImageJson.WriteDescriptor(json, "config", config);
            json.WriteStartArray("layers");
            json.WriteStartObject();
            ImageJson.WriteDescriptorFields(json, layer);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }));
        layout.Tag(manifest, output.Tag ?? DefaultTag);
        return new ImagePackResult(output, manifest, config, layer, diffId, entries);
    }

    private static void AddExecutable(RootfsTree tree, ImagePackOptions options, string executablePath)
    {
        if (!File.Exists(options.Executable))
        {
            throw new FileNotFoundException($"the executable {options.Executable} does not exist", options.Executable);
        }

        ElfLinkInfo program;
        try
        {
            program = ElfLinkInfo.Read(options.Executable);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"the executable is not a well-formed ELF file: {ex.Message}", ex);
        }

        if (program.Machine != X86_64)
        {
            throw new FormatException($"{options.Executable}: e_machine is {program.Machine}; only x86-64 (62) executables are packed");
        }

        tree.Add(RootfsEntry.CopyOf(executablePath, options.Executable, RootfsTree.ExecutableMode, "--executable"));
        var libraries = new SharedLibraryClosure(program.Machine, options.LibraryDirectories);
        var loaderName = program.Interpreter is null ? null : Path.GetFileName(program.Interpreter);
        if (loaderName is not null)
        {
            libraries.Add(loaderName, neededBy: options.Executable);
        }

        libraries.AddNeededBy(program, options.Executable);
        if (options.WithOpenSsl)
        {
            foreach (var library in SupervisorBundle.DefaultDlopenedLibraries)
            {
                libraries.Add(library, neededBy: "--with-openssl");
            }
        }

        var libraryDirectory = ImagePath.Normalize(LibraryDirectory, "library directory");
        foreach (var (soName, file) in libraries.Resolved)
        {
            var mode = soName == loaderName ? RootfsTree.ExecutableMode : RootfsTree.DataMode;
            tree.Add(RootfsEntry.CopyOf($"{libraryDirectory}/{soName}", file, mode, $"the libraries of {options.Executable} ({soName})"));
        }

        // The kernel runs the loader from the executable's PT_INTERP path; Debian makes that path a link, and so does this.
        var interpreter = program.Interpreter is null ? null : ImagePath.Normalize(program.Interpreter, "PT_INTERP");
        if (interpreter is not null && interpreter != $"{libraryDirectory}/{loaderName}")
        {
            tree.Add(RootfsEntry.SymbolicLink(interpreter, $"{LibraryDirectory}/{loaderName}", $"PT_INTERP of {options.Executable}"));
        }
    }

    private static void AddCaCertificates(RootfsTree tree, string bundle)
    {
        if (!File.Exists(bundle))
        {
            throw new FileNotFoundException($"--with-ca-certificates: {bundle} does not exist; install the ca-certificates package", bundle);
        }

        var origin = "--with-ca-certificates";
        var file = new FileInfo(bundle).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? bundle;
        tree.Add(RootfsEntry.CopyOf(ImagePath.Normalize(CaBundlePath, origin), file, RootfsTree.DataMode, origin));
        var openSsl = ImagePath.Normalize(OpenSslDirectory, origin);
        tree.Add(RootfsEntry.SymbolicLink($"{openSsl}/cert.pem", CaBundlePath, origin));
        tree.Add(RootfsEntry.SymbolicLink($"{openSsl}/certs", Path.GetDirectoryName(CaBundlePath)!, origin));
    }

    private static void AddSystemFiles(RootfsTree tree, ImageUser? user)
    {
        const string Origin = "the image's system files";
        tree.Add(RootfsEntry.Directory("tmp", TmpMode, ImageUser.Root, Origin));
        tree.Add(RootfsEntry.Directory("root", RootHomeMode, ImageUser.Root, Origin));
        var passwd = new StringBuilder("root:x:0:0:root:/root:/sbin/nologin\n");
        var group = new StringBuilder("root:x:0:\n");
        if (user is { Uid: not 0 })
        {
            passwd.Append(CultureInfo.InvariantCulture, $"{user.UserName}:x:{user.Uid}:{user.Gid}:{user.UserName}:{user.Home}:/sbin/nologin\n");
            tree.Add(RootfsEntry.Directory(user.Home.TrimStart('/'), HomeMode, user, Origin));
        }

        if (user is { Gid: not 0 })
        {
            group.Append(CultureInfo.InvariantCulture, $"{user.GroupName}:x:{user.Gid}:\n");
        }

        tree.Add(RootfsEntry.Generated("etc/passwd", Encoding.UTF8.GetBytes(passwd.ToString()), RootfsTree.DataMode, Origin));
        tree.Add(RootfsEntry.Generated("etc/group", Encoding.UTF8.GetBytes(group.ToString()), RootfsTree.DataMode, Origin));
    }

    private static void WriteConfig(Utf8JsonWriter json, ImagePackOptions options, IReadOnlyList<string>? entrypoint, string? workingDir, string diffId)
    {
        var created = options.ModificationTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        json.WriteStartObject();
        json.WriteString("created", created);
        json.WriteString("architecture", "amd64");
        json.WriteString("os", "linux");
        json.WriteStartObject("config");
        if (options.User is { } user)
        {
            json.WriteString("User", user.ToString());
        }

        if (options.ExposedPorts.Count > 0)
        {
            json.WriteStartObject("ExposedPorts");
            foreach (var port in options.ExposedPorts.Select(p => p.ToString()).Distinct().Order(StringComparer.Ordinal))
            {
                json.WriteStartObject(port);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        if (options.Env.Count > 0)
        {
            ImageJson.WriteStrings(json, "Env", options.Env);
        }

        if (entrypoint is not null)
        {
            ImageJson.WriteStrings(json, "Entrypoint", entrypoint);
        }

        if (options.Cmd is not null)
        {
            ImageJson.WriteStrings(json, "Cmd", options.Cmd);
        }

        if (workingDir is not null)
        {
            json.WriteString("WorkingDir", "/" + workingDir);
        }

        json.WriteEndObject();
        json.WriteStartObject("rootfs");
        json.WriteString("type", "layers");
        ImageJson.WriteStrings(json, "diff_ids", [diffId]);
        json.WriteEndObject();
        json.WriteStartArray("history");
        json.WriteStartObject();
        json.WriteString("created", created);
        json.WriteString("created_by", $"cloister image pack {Path.GetFileName(options.Executable)}");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }
}

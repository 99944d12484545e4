using System.CommandLine;
using System.Runtime.Versioning;
using Cloister.Build.Eif;
using Cloister.Build.Images;
using Cloister.Build.Images.Packing;
using Cloister.Build.Supervisor;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister image pack</c>: one executable, the libraries it needs and a run config into a single-layer OCI image,
/// without Docker. File times are <c>SOURCE_DATE_EPOCH</c> (else 0), so identical inputs give an identical image.
/// </summary>
internal static class ImageCommand
{
    public static Command Create() => new("image", "Container images for enclaves.") { CreatePack() };

    private static Command CreatePack()
    {
        var executable = new Option<FileInfo>("--executable") { Description = "The ELF executable (e.g. a NativeAOT publish); its loader and DT_NEEDED libraries come with it.", Required = true };
        var path = new Option<string?>("--path") { Description = "The executable's path in the image (default /app/<name>)." };
        var withOpenSsl = new Option<bool>("--with-openssl") { Description = "Also bundle OpenSSL 3 (libssl, libcrypto), which .NET loads at run time for TLS and crypto." };
        var pinned = new Option<bool>("--pinned-libraries")
        {
            Description = "Take the loader, glibc and OpenSSL from the pinned Debian packages of the runtime this CLI carries (`cloister version`), not from this machine, so the image is the same wherever it is packed.",
        };
        var withCa = new Option<bool>("--with-ca-certificates") { Description = "Also bundle /etc/ssl/certs/ca-certificates.crt, so TLS clients can verify servers." };
        var add = Repeatable("--add", "SRC:DEST: copy a file or directory of this machine to DEST in the image. Repeatable.");
        var cmd = Repeatable("--cmd", "One element of the image's Cmd; repeat for each (use --cmd=-x for an element starting with '-').");
        var entrypoint = Repeatable("--entrypoint", "One element of the image's Entrypoint; repeat for each (default: the executable, when no --cmd either).");
        var env = Repeatable("--env", "NAME=value in the image's Env. Repeatable.");
        var workdir = new Option<string?>("--workdir") { Description = "The image's WorkingDir (created in the image)." };
        var user = new Option<string?>("--user") { Description = "UID[:GID] the image runs as; /etc/passwd and /etc/group name it and it gets a home directory." };
        var expose = Repeatable("--expose", "PORT[/tcp|/udp] in the image's ExposedPorts. Repeatable.");
        var output = new Option<string>("--output", "-o") { Description = "oci-layout:DIR[:TAG] (tag default: latest); an existing layout keeps its other tags.", Required = true };
        var command = new Command("pack", "Pack an executable and its libraries into an OCI image layout, without Docker.")
        {
            executable, path, withOpenSsl, pinned, withCa, add, cmd, entrypoint, env, workdir, user, expose, output,
        };
        command.SetAction(parseResult =>
        {
            var options = new ImagePackOptions
            {
                Executable = parseResult.GetRequiredValue(executable).FullName,
                ExecutablePath = parseResult.GetValue(path),
                WithOpenSsl = parseResult.GetValue(withOpenSsl),
                WithCaCertificates = parseResult.GetValue(withCa),
                Additions = ParseEach(parseResult.GetValue(add), "--add", ImagePackAddition.Parse),
                Cmd = NullIfEmpty(parseResult.GetValue(cmd)),
                Entrypoint = NullIfEmpty(parseResult.GetValue(entrypoint)),
                Env = parseResult.GetValue(env) ?? [],
                WorkingDir = parseResult.GetValue(workdir),
                User = parseResult.GetValue(user) is { } text ? Parse(text, "--user", ImageUser.Parse) : null,
                ExposedPorts = ParseEach(parseResult.GetValue(expose), "--expose", ExposedPort.Parse),
                ModificationTime = ModificationTime(),
            };
            if (OperatingSystem.IsWindows())
            {
                throw new CommandFailedException("cloister image pack needs Linux or macOS: file modes come from the file system");
            }

            var reference = ParseOutput(parseResult.GetRequiredValue(output));
            return parseResult.GetValue(pinned) ? PackWithPinnedLibraries(options, reference) : Pack(options, reference);
        });
        return command;
    }

    // The runtime's libraries are its files under cloister/lib, written out for the packer to find by soname.
    [UnsupportedOSPlatform("windows")]
    private static int PackWithPinnedLibraries(ImagePackOptions options, ImageReference output)
    {
        using var runtime = BundledRuntime.Open(file: null, expectedDigest: null);
        var libraries = Directory.CreateTempSubdirectory("cloister-pinned-libraries-").FullName;
        try
        {
            var prefix = SupervisorBundle.LibraryDirectory.TrimStart('/') + "/";
            foreach (var entry in runtime.Entries.Where(entry => !entry.IsDirectory && entry.Path.StartsWith(prefix, StringComparison.Ordinal)))
            {
                using var content = entry.OpenRead();
                using var file = File.Create(Path.Combine(libraries, entry.Path[prefix.Length..]));
                content.CopyTo(file);
            }

            var packages = string.Join(", ", runtime.Provenance.Packages.Select(package => $"{package.Name} {package.Version}"));
            Console.Error.WriteLine($"libraries from the runtime {runtime.Digest} ({packages})");
            return Pack(options with { LibraryDirectories = [libraries] }, output);
        }
        catch (FileNotFoundException ex) when (ex.FileName is { } soName && !soName.Contains('/', StringComparison.Ordinal))
        {
            var pinnedNames = string.Join(", ", Directory.EnumerateFiles(libraries).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            throw new CommandFailedException($"--pinned-libraries: {soName} is not among the runtime's pinned libraries ({pinnedNames}); pack without --pinned-libraries to take it from this machine");
        }
        finally
        {
            Directory.Delete(libraries, recursive: true);
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static int Pack(ImagePackOptions options, ImageReference output)
    {
        ImagePackResult result;
        try
        {
            result = ImagePacker.Pack(options, output);
        }
        catch (FormatException ex)
        {
            // Every FormatException here is about an input the user named: the executable, an --env, a path clash.
            throw CommandFailedException.Usage(ex.Message);
        }

        Console.Out.WriteLine(result.Manifest.Digest);
        Console.Error.WriteLine(
            $"packed {result.Entries.Count} entries into {result.Reference} (layer {result.Layer.Digest}, {result.Layer.Size} bytes gzip)");
        return ExitCodes.Success;
    }

    private static Option<string[]> Repeatable(string name, string description) =>
        new(name) { Description = description, AllowMultipleArgumentsPerToken = false };

    private static string[]? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? values : null;

    private static T[] ParseEach<T>(string[]? values, string option, Func<string, T> parse) =>
        [.. (values ?? []).Select(value => Parse(value, option, parse))];

    private static T Parse<T>(string value, string option, Func<string, T> parse)
    {
        try
        {
            return parse(value);
        }
        catch (FormatException ex)
        {
            throw CommandFailedException.Usage($"{option}: {ex.Message}");
        }
    }

    private static ImageReference ParseOutput(string text)
    {
        try
        {
            var reference = ImageReference.Parse(text);
            return reference is { Kind: ImageReferenceKind.OciLayout, Digest: null }
                ? reference
                : throw CommandFailedException.Usage($"--output: '{text}' is not oci-layout:DIR[:TAG]");
        }
        catch (ImageSourceException ex)
        {
            throw CommandFailedException.Usage($"--output: {ex.Message}");
        }
    }

    private static DateTimeOffset ModificationTime()
    {
        var sourceDateEpoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        try
        {
            return string.IsNullOrEmpty(sourceDateEpoch) ? DateTimeOffset.UnixEpoch : EifMetadata.ResolveBuildTime(sourceDateEpoch, TimeProvider.System);
        }
        catch (FormatException ex)
        {
            throw CommandFailedException.Usage(ex.Message);
        }
    }
}

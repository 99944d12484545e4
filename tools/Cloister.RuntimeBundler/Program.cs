using Cloister.RuntimeBundler;

// Verbs of the repository's runtime-bundle tool. Every failure is one line on stderr: exit 2 for a wrong command line,
// 1 for anything else, never a stack trace.
const string Usage = "usage: cloister-runtime-bundler fetch --lock FILE --set runtime|toolchain --root DIR [--cache DIR]"
    + " | bundle --supervisor FILE --lock FILE --version V --out FILE [--cache DIR]";

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

try
{
    return args switch
    {
        ["fetch", .. var rest] => await Fetch(CommandLineOptions.Parse(rest, "--lock", "--set", "--root", "--cache"), cancellation.Token),
        ["bundle", .. var rest] => await Bundle(CommandLineOptions.Parse(rest, "--supervisor", "--lock", "--version", "--out", "--cache"), cancellation.Token),
        ["--help" or "-h"] => Help(),
        _ => throw new UsageException(args.Length == 0 ? "no verb" : $"unknown verb '{args[0]}'"),
    };
}
catch (UsageException ex)
{
    return Fail($"{ex.Message} ({Usage})", 2);
}
catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
{
    return Fail(ex.Message, 2);
}
catch (Exception ex) when (ex is FormatException or DebianPackageException or IOException or UnauthorizedAccessException or ArgumentException)
{
    return Fail(ex.Message, 1);
}
catch (OperationCanceledException)
{
    return Fail("cancelled", 1);
}
catch (Exception ex)
{
    return Fail($"internal error ({ex.GetType().Name}): {ex.Message}", 1);
}

static async Task<int> Fetch(CommandLineOptions options, CancellationToken cancellationToken)
{
    var lockPath = options.Required("--lock");
    var set = options.Required("--set");
    if (!DebianPackageLock.IsSet(set))
    {
        throw new UsageException($"--set '{set}' is not {DebianPackageLock.RuntimeSet} or {DebianPackageLock.ToolchainSet}");
    }

    var root = options.Required("--root");
    var packages = DebianPackageLock.Read(lockPath).InSet(set);
    if (packages.Count == 0)
    {
        throw new FormatException($"{lockPath} pins no package in the {set} set");
    }

    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
    var cache = new DebianPackageCache(options.Optional("--cache") ?? DebianPackageCache.DefaultDirectory(), DebianPackageCache.MirrorFromEnvironment(), http);
    var fetched = await DebianRoot.CreateAsync(packages, cache, root, new ConsoleProgress(), cancellationToken);
    Console.WriteLine($"{set}: {fetched.Count} packages ({fetched.Sum(file => file.Package.Size)} bytes of .deb) extracted into {Path.GetFullPath(root)}");
    return 0;
}

static async Task<int> Bundle(CommandLineOptions options, CancellationToken cancellationToken)
{
    var lockPath = options.Required("--lock");
    var supervisor = options.Required("--supervisor");
    var output = options.Required("--out");
    var packages = DebianPackageLock.Read(lockPath).InSet(DebianPackageLock.RuntimeSet);
    if (packages.Count == 0)
    {
        throw new FormatException($"{lockPath} pins no package in the {DebianPackageLock.RuntimeSet} set");
    }

    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
    var cache = new DebianPackageCache(options.Optional("--cache") ?? DebianPackageCache.DefaultDirectory(), DebianPackageCache.MirrorFromEnvironment(), http);
    var digest = await RuntimeBundleProducer.WriteAsync(supervisor, packages, cache, options.Required("--version"), output, cancellationToken);
    Console.WriteLine($"runtime {digest}: {Path.GetFullPath(output)}");
    return 0;
}

static int Help()
{
    Console.WriteLine(Usage);
    Console.WriteLine($"  Downloads the lock's packages of one set from ${DebianPackageCache.MirrorVariable} (default {DebianPackageCache.DefaultMirror}),");
    Console.WriteLine($"  verifies their size and SHA-256, caches them (default {DebianPackageCache.DefaultDirectory()}) and extracts them into DIR.");
    Console.WriteLine("  bundle: writes the runtime artifact (docs/runtime-bundle.md): the supervisor, its libraries and OpenSSL from the");
    Console.WriteLine("  lock's runtime set alone, and their provenance; prints its digest.");
    return 0;
}

static int Fail(string message, int exitCode)
{
    Console.Error.WriteLine($"cloister-runtime-bundler: {Printable.Of(message)}");
    return exitCode;
}

/// <summary>One line per package as it lands in the root, in order (<see cref="Progress{T}"/> would post them out of order).</summary>
internal sealed class ConsoleProgress : IProgress<FetchedPackage>
{
    public void Report(FetchedPackage value) =>
        Console.WriteLine($"{value.Package}: {(value.Downloaded ? "downloaded" : "cached")}, {value.Package.Size} bytes, SHA-256 verified, extracted");
}

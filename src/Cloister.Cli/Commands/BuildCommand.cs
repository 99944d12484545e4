using System.CommandLine;
using Cloister.Build.Eif;
using Cloister.Build.Enclaves;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Build.Manifests;
using Cloister.Runtime.Files;
using Spectre.Console;

namespace Cloister.Cli.Commands;

/// <summary><c>cloister build</c>: a manifest's container image to an EIF and its measurements, without Docker.</summary>
internal static class BuildCommand
{
    public static Command Create()
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The manifest.", DefaultValueFactory = _ => new FileInfo("enclave.yaml") };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Where <name>.eif and measurements.json are written.", Required = true };
        var blobs = new Option<DirectoryInfo?>("--blobs") { Description = "nitro-cli's blobs directory (default: $NITRO_CLI_BLOBS, else /usr/share/nitro_enclaves/blobs). Without blobs the image is simulation-only." };
        var platform = new Option<string>("--platform") { Description = "The platform picked from an image index.", DefaultValueFactory = _ => "linux/amd64" };
        var runtime = new Option<string>("--runtime") { Description = "cloister adds the enclave supervisor; none builds exactly what nitro-cli would.", DefaultValueFactory = _ => "cloister" };
        runtime.AcceptOnlyFromAmong("cloister", "none");
        var insecure = new Option<string[]>("--insecure-registry") { Description = "A registry host[:port] reached over plain HTTP (loopback registries always are)." };
        var certificate = new Option<FileInfo?>("--signing-certificate") { Description = "Signs the image (PCR8) with this certificate (PEM) and --private-key." };
        var privateKey = new Option<FileInfo?>("--private-key") { Description = "The EC private key (PEM) of the signing certificate." };
        var runtimeBundle = new Option<FileInfo?>("--runtime-bundle") { Description = "The enclave runtime artifact added as /cloister/ (default: the one this CLI carries; see `cloister version`)." };
        var runtimeDigest = new Option<string?>("--runtime-digest") { Description = "Refuse to build unless the runtime's digest is this (sha384:HEX)." };
        var hashAlgorithm = MeasurementsJson.CreateHashAlgorithmOption();
        var command = new Command("build", "Build an enclave image (EIF) from the manifest's container image and print its measurements.")
        {
            file, output, blobs, platform, runtime, insecure, certificate, privateKey, runtimeBundle, runtimeDigest, hashAlgorithm,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetRequiredValue(file),
            parseResult.GetRequiredValue(output),
            parseResult.GetValue(blobs),
            parseResult.GetRequiredValue(platform),
            parseResult.GetRequiredValue(runtime) == "none" ? EnclaveRuntime.None : EnclaveRuntime.Cloister,
            parseResult.GetValue(insecure) ?? [],
            Signing.CreateSigner(parseResult.GetValue(certificate), parseResult.GetValue(privateKey)),
            parseResult.GetValue(runtimeBundle),
            parseResult.GetValue(runtimeDigest),
            MeasurementsJson.HashAlgorithm(parseResult, hashAlgorithm),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        FileInfo manifestFile, DirectoryInfo output, DirectoryInfo? blobsOption, string platformText, EnclaveRuntime runtime,
        string[] insecureRegistries, EifSigner? signer, FileInfo? runtimeBundle, string? runtimeDigest, string hashAlgorithm, CancellationToken cancellationToken)
    {
        using var ownedSigner = signer;
        if (runtime == EnclaveRuntime.None && (runtimeBundle is not null || runtimeDigest is not null))
        {
            throw CommandFailedException.Usage("--runtime-bundle and --runtime-digest choose the Cloister runtime; --runtime none adds none");
        }

        if (!manifestFile.Exists)
        {
            throw CommandFailedException.Usage($"no manifest at {manifestFile.FullName} (write one with `cloister init`)");
        }

        var bytes = await BoundedFile.ReadAllBytesAsync(manifestFile.FullName, FileSizeLimits.Manifest, "the manifest", cancellationToken);
        var manifest = EnclaveManifestReader.ParseBuildable(ManifestText.Decode(bytes, manifestFile.Name), manifestFile.Name);
        var platform = ParsePlatform(platformText);
        var sourceDateEpoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        var buildTime = EifMetadata.ResolveBuildTime(sourceDateEpoch, TimeProvider.System);
        var blobsDirectory = NitroBlobs.Locate(blobsOption?.FullName, Environment.GetEnvironmentVariable("NITRO_CLI_BLOBS"));
        var architecture = platform.Architecture == "arm64" ? EifArchitecture.Arm64 : EifArchitecture.X64;
        var blobs = blobsDirectory is null ? null : NitroBlobs.Open(blobsDirectory, architecture);

        // The runtime file stays open until the image is written: its files are read from it then, not held in memory.
        using var bundle = runtime == EnclaveRuntime.None ? null : BundledRuntime.Open(runtimeBundle, runtimeDigest);
        var options = new EnclaveBuildOptions
        {
            OutputDirectory = output.FullName,
            TemporaryDirectory = Path.GetTempPath(),
            Registry = RegistryOptionsFor(insecureRegistries),
            BaseDirectory = manifestFile.DirectoryName!,
            Blobs = blobs,
            Platform = platform,
            Runtime = runtime,
            RuntimeBundle = bundle,
            BuildTime = buildTime,
            AddedFilesModificationTime = string.IsNullOrEmpty(sourceDateEpoch) ? Build.Cpio.CpioWriter.LinuxKitModTime : buildTime.ToUnixTimeSeconds(),
            Signer = signer,
            HashAlgorithm = hashAlgorithm,
        };
        if (options.Blobs is null)
        {
            Console.Error.WriteLine(
                "warning: no Nitro blobs (--blobs, $NITRO_CLI_BLOBS, " + NitroBlobs.DefaultDirectory + "): this image is SIMULATION-ONLY. "
                + "It has no kernel, runs only in `cloister run`'s simulator, and Nitro will refuse it.");
        }

        var result = await BuildWithProgressAsync(manifest, options, cancellationToken);
        Console.Out.WriteLine(result.MeasurementsJson);
        Console.Error.WriteLine($"wrote {result.ImagePath}{(result.SimulationOnly ? " (simulation-only)" : "")} and {result.MeasurementsPath}");
        return ExitCodes.Success;
    }

    private static Task<EnclaveBuildResult> BuildWithProgressAsync(
        Runtime.Manifest.EnclaveManifest manifest, EnclaveBuildOptions options, CancellationToken cancellationToken)
    {
        if (Console.IsErrorRedirected)
        {
            var lines = new Progress<EnclaveBuildProgress>(ReportLine);
            return EnclaveImageBuilder.BuildAsync(manifest, options, lines, cancellationToken);
        }

        // Bars on a terminal go to stderr, so stdout stays the measurements JSON alone.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<(EnclaveBuildStage, int), ProgressTask>();
                var bars = new Progress<EnclaveBuildProgress>(report =>
                {
                    if (!tasks.TryGetValue((report.Stage, report.Item), out var task))
                    {
                        foreach (var previous in tasks.Values)
                        {
                            previous.StopTask();
                        }

                        task = context.AddTask(Describe(report)).IsIndeterminate();
                        tasks[(report.Stage, report.Item)] = task;
                    }

                    task.Value = report.Bytes;
                });
                var built = await EnclaveImageBuilder.BuildAsync(manifest, options, bars, cancellationToken);
                foreach (var task in tasks.Values)
                {
                    task.IsIndeterminate(false).Value(task.MaxValue);
                    task.StopTask();
                }

                return built;
            });
    }

    private static void ReportLine(EnclaveBuildProgress report)
    {
        // One line per step and per layer, plus the bytes at each layer's end: readable in CI logs.
        if (report.Bytes == 0 || report.Stage != EnclaveBuildStage.ApplyingLayer)
        {
            Console.Error.WriteLine(Describe(report));
        }
    }

    private static string Describe(EnclaveBuildProgress report) => report.Stage switch
    {
        EnclaveBuildStage.ResolvingImage => $"resolving {report.Description}",
        EnclaveBuildStage.ApplyingLayer => $"layer {report.Item}/{report.Items} {ShortDigest(report.Description)}",
        EnclaveBuildStage.WritingRamdisks => "writing the ramdisks",
        _ => $"writing and measuring {report.Description}.eif",
    };

    // Twelve hex digits name a layer the way Docker's pull output does; the full digest would wrap the bars.
    private static string ShortDigest(string digest)
    {
        var hex = digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..] : digest;
        return hex.Length > 12 ? hex[..12] : hex;
    }

    private static ImagePlatform ParsePlatform(string text)
    {
        try
        {
            return ImagePlatform.Parse(text);
        }
        catch (FormatException ex)
        {
            throw CommandFailedException.Usage($"--platform: {ex.Message}");
        }
    }

    private static RegistryOptions RegistryOptionsFor(string[] insecureRegistries)
    {
        var dockerConfig = UserDirectories.DockerConfig;
        return new RegistryOptions(UserDirectories.BlobCache)
        {
            Credentials = File.Exists(dockerConfig) ? DockerCredentialStore.Load(dockerConfig) : null,
            InsecureRegistries = insecureRegistries,
        };
    }
}

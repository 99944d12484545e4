using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Build.Eif;
using Cloister.Build.Streams;
using Cloister.Runtime.Files;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister eif build</c>: builds an enclave image from a kernel, a command line and ramdisks, the shape of AWS's
/// <c>eif_build</c>, and prints <c>{"Measurements": …}</c> as <c>nitro-cli build-enclave</c> does.
/// </summary>
/// <remarks>
/// Defaults where eif_build has nothing to copy: <c>--name</c> is the output file name without extension,
/// <c>--version</c> is <c>1.0</c>; the OS and kernel version come from <c>--kernel-config</c>, else from
/// <c>KERNEL.config</c> beside the kernel (nitro-cli's blobs ship <c>bzImage.config</c>), else <c>Unknown</c>.
/// BuildTime is <c>SOURCE_DATE_EPOCH</c> when set, so a build is reproducible byte for byte. The kernel and the
/// ramdisks are streamed, so they must be files that say their size (<see cref="StreamedFile"/>), and the kernel
/// cannot be empty; eif_build takes whatever its size says (docs/build.md).
/// </remarks>
internal static class EifCommand
{
    private const string Unknown = "Unknown";

    public static Command Create() => new("eif", "Enclave image files.") { CreateBuild() };

    private static Command CreateBuild()
    {
        var kernel = new Option<FileInfo>("--kernel") { Description = "The kernel (bzImage or Image).", Required = true };
        var cmdline = new Option<string>("--cmdline") { Description = "The kernel command line, written as given.", Required = true };
        var ramdisks = new Option<FileInfo[]>("--ramdisk")
        {
            Description = "A ramdisk; repeat in order: the first is the bootstrap ramdisk (PCR1), the rest the application (PCR2).",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var certificate = new Option<FileInfo?>("--signing-certificate") { Description = "The signing certificate (PEM); with --private-key, signs the image." };
        var privateKey = new Option<FileInfo?>("--private-key") { Description = "The EC private key (PEM) of the signing certificate." };
        var name = new Option<string?>("--name") { Description = "ImageName in the metadata (default: the output file name without extension)." };
        var version = new Option<string>("--version") { Description = "ImageVersion in the metadata.", DefaultValueFactory = _ => "1.0" };
        var kernelConfig = new Option<FileInfo?>("--kernel-config") { Description = "The kernel config whose line 3 names the OS and kernel version (default: KERNEL.config if present)." };
        var metadata = new Option<FileInfo?>("--metadata") { Description = "A JSON file (at most 4096 bytes) stored as CustomMetadata." };
        var arch = new Option<string>("--arch") { Description = "The architecture.", DefaultValueFactory = _ => "x86_64" };
        arch.AcceptOnlyFromAmong("x86_64", "aarch64");
        var output = new Option<FileInfo>("--output") { Description = "The EIF file to write.", Required = true };
        var hashAlgorithm = MeasurementsJson.CreateHashAlgorithmOption();

        var command = new Command("build", "Build an enclave image file (EIF) and print its measurements.")
        {
            kernel, cmdline, ramdisks, certificate, privateKey, name, version, kernelConfig, metadata, arch, output, hashAlgorithm,
        };
        command.SetAction(parseResult =>
        {
            var outputFile = parseResult.GetRequiredValue(output);
            var kernelFile = parseResult.GetRequiredValue(kernel);
            using var signer = Signing.CreateSigner(parseResult.GetValue(certificate), parseResult.GetValue(privateKey));
            var (operatingSystem, kernelVersion) = KernelIdentity(parseResult.GetValue(kernelConfig), kernelFile);
            using var custom = ReadCustomMetadata(parseResult.GetValue(metadata));
            var buildTime = EifMetadata.ResolveBuildTime(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), TimeProvider.System);
            var identity = new EifMetadata
            {
                ImageName = parseResult.GetValue(name) ?? Path.GetFileNameWithoutExtension(outputFile.Name),
                ImageVersion = parseResult.GetRequiredValue(version),
                BuildTime = EifMetadata.FormatBuildTime(buildTime),
                BuildTool = EifMetadata.CloisterBuildTool,
                BuildToolVersion = EifMetadata.CloisterVersion,
                OperatingSystem = operatingSystem,
                KernelVersion = kernelVersion,
                CustomMetadata = custom?.RootElement,
            };

            var inputs = new List<FileStream>();
            try
            {
                var kernelStream = OpenInput(kernelFile, "--kernel", inputs);
                if (kernelStream.Length == 0)
                {
                    throw new CommandFailedException($"--kernel {kernelFile.FullName} is empty: an enclave needs a kernel to boot");
                }

                var builder = new EifBuilder(kernelStream, parseResult.GetRequiredValue(cmdline), identity)
                {
                    Architecture = parseResult.GetRequiredValue(arch) == "aarch64" ? EifArchitecture.Arm64 : EifArchitecture.X64,
                    Signer = signer,
                };
                foreach (var ramdisk in parseResult.GetRequiredValue(ramdisks))
                {
                    builder.AddRamdisk(OpenInput(ramdisk, "--ramdisk", inputs));
                }

                // Announced once every input has opened, so that a bad one is the only line on stderr.
                Console.Error.WriteLine("Start building the Enclave Image...");
                var measurements = AtomicFile.Write(outputFile.FullName, builder.WriteTo);
                Console.Out.WriteLine(MeasurementsJson.Build(measurements, MeasurementsJson.HashAlgorithm(parseResult, hashAlgorithm)));
                Console.Error.WriteLine("Enclave Image successfully created.");
                return ExitCodes.Success;
            }
            finally
            {
                inputs.ForEach(stream => stream.Dispose());
            }
        });
        return command;
    }

    private static FileStream OpenInput(FileInfo file, string option, List<FileStream> opened)
    {
        var stream = StreamedFile.OpenRead(file.FullName, option);
        opened.Add(stream);
        return stream;
    }

    private static (string OperatingSystem, string KernelVersion) KernelIdentity(FileInfo? kernelConfig, FileInfo kernel)
    {
        var path = kernelConfig?.FullName ?? kernel.FullName + ".config";
        if (kernelConfig is null && !File.Exists(path))
        {
            return (Unknown, Unknown);
        }

        var text = BoundedFile.ReadAllText(path, FileSizeLimits.KernelConfig, kernelConfig is null ? "the kernel config" : "--kernel-config");
        try
        {
            return EifMetadata.ReadKernelConfig(new StringReader(text));
        }
        catch (FormatException ex)
        {
            throw new CommandFailedException($"{path}: {ex.Message}", ExitCodes.Usage, ex);
        }
    }

    private static JsonDocument? ReadCustomMetadata(FileInfo? file)
    {
        if (file is null)
        {
            return null;
        }

        var bytes = BoundedFile.ReadAllBytes(file.FullName, FileSizeLimits.CustomMetadata, "--metadata");
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new CommandFailedException($"{file.FullName} is not JSON: {ex.Message}", ExitCodes.Usage, ex);
        }
    }
}

using System.CommandLine;
using System.Security.Cryptography;
using Cloister.Build.Enclaves;
using Cloister.Build.Images;
using Cloister.Build.Manifests;
using Cloister.Build.RuntimeBundles;
using Cloister.Cli.Commands;

namespace Cloister.Cli;

/// <summary>Builds the command tree and turns every outcome into an exit code and a message, never a stack trace.</summary>
internal static class CloisterCli
{
    private const int MaxManifestLines = 20;

    public static RootCommand CreateRootCommand() => new("Cloister: build, run and verify AWS Nitro Enclaves.")
    {
        InitCommand.Create(),
        BuildCommand.Create(),
        VerifyDocCommand.Create(),
        AttestCommand.Create(),
        EifCommand.Create(),
        DescribeCommand.Create(),
        SignCommand.Create(),
        PcrCommand.Create(),
        TrustCommand.Create(),
        RunCommand.Create(),
        ImageCommand.Create(),
        DeployCommand.Create(),
        SecretsCommand.Create(),
        KeysCommand.Create(),
        EncryptCommand.Create(),
        ProvisionerCommand.Create(),
        VersionCommand.Create(),
    };

    public static int Run(string[] args)
    {
        var parseResult = CreateRootCommand().Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
            {
                Console.Error.WriteLine($"cloister: {TerminalText.Escape(error.Message)}");
            }

            Console.Error.WriteLine("Run 'cloister --help' for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return parseResult.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            return Report(ex);
        }
    }

    /// <summary>Maps an exception that escaped a command to the message and exit code the user sees.</summary>
    internal static int Report(Exception ex)
    {
        var (message, code) = ex switch
        {
            CommandFailedException failed => (failed.Message, failed.ExitCode),
            FileNotFoundException notFound => ($"no such file: {notFound.FileName ?? notFound.Message}", ExitCodes.Usage),
            DirectoryNotFoundException notFound => (notFound.Message, ExitCodes.Usage),
            UnauthorizedAccessException denied => (denied.Message, ExitCodes.Usage),
            FormatException format => (format.Message, ExitCodes.Invalid),
            ImageSourceException image => ($"image {image.Error}: {image.Message}", ExitCodes.Invalid),
            EnclaveBuildException build => (build.Message, ExitCodes.Invalid),
            RuntimeBundleException bundle => ($"runtime bundle refused ({bundle.Error}): {bundle.Message}", ExitCodes.Invalid),
            CryptographicException crypto => ($"cryptographic failure: {crypto.Message}", ExitCodes.Invalid),
            IOException io => (io.Message, ExitCodes.Invalid),
            OperationCanceledException => ("cancelled", ExitCodes.Invalid),
            _ => ($"internal error ({ex.GetType().Name}): {ex.Message}. Please report this.", ExitCodes.InternalError),
        };
        // Messages echo what servers, documents and certificates said; none of it may reach the terminal raw.
        foreach (var line in ex is ManifestException manifest ? ManifestLines(manifest.Errors) : [message])
        {
            Console.Error.WriteLine($"cloister: {TerminalText.Escape(line)}");
        }

        return code;
    }

    /// <summary>
    /// A manifest's problems one per line, as a compiler lists them, but never more than <see cref="MaxManifestLines"/>:
    /// a hostile manifest can hold a hundred thousand mistakes.
    /// </summary>
    private static IEnumerable<string> ManifestLines(IReadOnlyList<ManifestError> errors) =>
        errors.Count <= MaxManifestLines
            ? errors.Select(error => error.ToString())
            : errors.Take(MaxManifestLines - 1).Select(error => error.ToString())
                .Append($"… and {errors.Count - (MaxManifestLines - 1)} more problems in the manifest");
}

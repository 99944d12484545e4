using System.CommandLine;
using Cloister.Build.Eif;

namespace Cloister.Cli.Commands;

/// <summary><c>cloister version</c>: the CLI's version and the digest of the runtime it adds to images.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the CLI version and the digest of the enclave runtime it builds images with.");
        command.SetAction(_ => Run());
        return command;
    }

    private static int Run()
    {
        Console.Out.WriteLine($"cloister {EifMetadata.CloisterVersion}");
        using var runtime = BundledRuntime.Open(file: null, expectedDigest: null);
        var packages = string.Join(", ", runtime.Provenance.Packages.Select(package => $"{package.Name} {package.Version}"));
        Console.Out.WriteLine($"runtime {runtime.Digest} (cloister-runtime {runtime.Provenance.Version}: {packages}; supervisor compiled with .NET SDK {BundledRuntime.Sdk ?? "unknown"})");
        return ExitCodes.Success;
    }
}

using System.Reflection;
using Cloister.Build.RuntimeBundles;

namespace Cloister.Cli;

/// <summary>
/// The runtime this CLI carries: the artifact its own build produced (see Cloister.Cli.csproj), beside cloister.dll as
/// <c>runtime/cloister-runtime.tar</c>, and its digest, compiled into this assembly when the artifact was made, so a
/// file swapped or damaged after the build is refused.
/// </summary>
internal static class BundledRuntime
{
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName);

    /// <summary>The digest the build recorded, or <see langword="null"/> for a CLI built without its runtime.</summary>
    public static string? Digest { get; } = Metadata("CloisterRuntimeDigest");

    /// <summary>The .NET SDK version that compiled the carried runtime's supervisor, or <see langword="null"/> when none is carried.</summary>
    public static string? Sdk { get; } = Metadata("CloisterRuntimeSdk");

    /// <summary>Reads the carried runtime, or the one named, and checks its digest.</summary>
    /// <param name="file">A runtime named with <c>--runtime-bundle</c>, or <see langword="null"/> for the carried one.</param>
    /// <param name="expectedDigest">A digest the runtime must have (<c>--runtime-digest</c>), or <see langword="null"/>.</param>
    /// <returns>The runtime, owned by the caller: it keeps the file open until disposed.</returns>
    public static RuntimeBundle Open(FileInfo? file, string? expectedDigest)
    {
        if (expectedDigest is not null && !RuntimeBundle.IsDigest(expectedDigest))
        {
            throw CommandFailedException.Usage($"--runtime-digest: '{expectedDigest}' is not a runtime digest (sha384: and 96 lowercase hex digits)");
        }

        if (file is not null)
        {
            if (!file.Exists)
            {
                throw CommandFailedException.Usage($"--runtime-bundle: no such file: {file.FullName}");
            }

            return RuntimeBundle.Read(file.FullName, expectedDigest);
        }

        if (Digest is null || !File.Exists(Path))
        {
            throw new CommandFailedException(
                $"this cloister was built without its enclave runtime ({Path}); build it with CloisterBundleSupervisor unset, or pass --runtime-bundle FILE or --runtime none");
        }

        var bundle = RuntimeBundle.Read(Path, Digest);
        if (expectedDigest is null || bundle.Digest == expectedDigest)
        {
            return bundle;
        }

        bundle.Dispose();
        throw new RuntimeBundleException(RuntimeBundleError.DigestMismatch, $"{Path}: the runtime's digest is {bundle.Digest}, expected {expectedDigest}");
    }

    private static string? Metadata(string key) =>
        typeof(BundledRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(attribute => attribute.Key == key)?.Value is { Length: > 0 } value
            ? value
            : null;
}

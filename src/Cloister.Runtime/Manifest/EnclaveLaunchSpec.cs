namespace Cloister.Runtime.Manifest;

/// <summary>
/// Everything the enclave supervisor needs to start the app, written by <c>cloister build</c> as
/// <c>/cloister/enclave.json</c> inside the customer ramdisk (and so measured into PCR2).
/// </summary>
public sealed class EnclaveLaunchSpec
{
    /// <summary>The format version this build writes; a supervisor refuses versions it does not know.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The format version.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The validated manifest.</summary>
    public required EnclaveManifest Manifest { get; init; }

    /// <summary>The image's own run configuration, before the manifest's overrides.</summary>
    public required ImageRunConfig Image { get; init; }

    /// <summary>
    /// The app's argument vector with Docker's rules: a manifest <c>entrypoint</c> replaces the image's and also drops the
    /// image's CMD (as <c>docker run --entrypoint</c> does); a manifest <c>cmd</c> replaces the image's CMD.
    /// </summary>
    /// <returns>Entrypoint followed by CMD.</returns>
    /// <exception cref="InvalidOperationException">Neither the image nor the manifest names anything to run.</exception>
    public IReadOnlyList<string> ResolveArguments()
    {
        var entrypoint = Manifest.Entrypoint ?? Image.Entrypoint;
        var cmd = Manifest.Cmd ?? (Manifest.Entrypoint is null ? Image.Cmd : []);
        return entrypoint.Count + cmd.Count == 0
            ? throw new InvalidOperationException("nothing to run: the image has no ENTRYPOINT or CMD and the manifest sets neither 'entrypoint' nor 'cmd'")
            : [.. entrypoint, .. cmd];
    }

    /// <summary>The app's environment: the image's variables, then the manifest's, a manifest value replacing the image's in place.</summary>
    /// <returns><c>NAME=value</c> entries.</returns>
    public IReadOnlyList<string> ResolveEnvironment()
    {
        var names = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Image.Env)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? entry : entry[..equals];
            if (values.TryAdd(name, equals < 0 ? "" : entry[(equals + 1)..]))
            {
                names.Add(name);
            }
        }

        foreach (var (name, value) in Manifest.Env)
        {
            if (!values.ContainsKey(name))
            {
                names.Add(name);
            }

            values[name] = value;
        }

        return [.. names.Select(name => $"{name}={values[name]}")];
    }
}

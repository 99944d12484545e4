using Cloister.Runtime.Manifest;

namespace Cloister.Build.Manifests;

/// <summary>
/// The manifest sections that this version of Cloister reads and validates but does not build yet: nothing in the
/// image would act on them, so an enclave built with one would silently lack what its owner configured (an enclave
/// with <c>health</c> would have no health check). The build refuses them, failing closed, until the work that
/// implements each lands (<c>docs/build.md</c>).
/// </summary>
public static class UnbuiltSections
{
    private static readonly (UnbuiltSection Section, Func<EnclaveManifest, bool> IsSet)[] s_sections =
    [
        (Refused("health", "remove the section"), manifest => manifest.Health is not null),
    ];

    /// <summary>The sections <paramref name="manifest"/> sets that this version does not build, in schema order.</summary>
    /// <param name="manifest">A validated manifest.</param>
    /// <returns>The refused sections; empty when the manifest can be built.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="manifest"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<UnbuiltSection> In(EnclaveManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return [.. s_sections.Where(entry => entry.IsSet(manifest)).Select(entry => entry.Section)];
    }

    private static UnbuiltSection Refused(string key, string remedy) =>
        new(key, $"not built yet in this version of Cloister; {remedy} (see docs/build.md, 'Sections not built yet')");
}

/// <summary>A manifest section that the build refuses because this version does not build it yet.</summary>
/// <param name="Key">The key path, e.g. <c>health</c>.</param>
/// <param name="Message">Why it is refused and what to do instead.</param>
public sealed record UnbuiltSection(string Key, string Message)
{
    /// <summary>Formats as the manifest's errors do: <c>provisioning: not built yet …</c>.</summary>
    /// <returns>The formatted refusal.</returns>
    public override string ToString() => $"{Key}: {Message}";
}

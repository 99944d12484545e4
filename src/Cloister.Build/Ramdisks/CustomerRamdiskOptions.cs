namespace Cloister.Build.Ramdisks;

/// <summary>What the customer ramdisk holds besides the image: the <c>cmd</c> and <c>env</c> files and Cloister's own files.</summary>
public sealed class CustomerRamdiskOptions
{
    /// <summary>The lines of <c>/cmd</c>: AWS init's argv, one element per line.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The lines of <c>/env</c>: AWS init's environment, one <c>NAME=value</c> per line.</summary>
    public required IReadOnlyList<string> Environment { get; init; }

    /// <summary>
    /// Files at or below <c>rootfs/cloister</c> (the enclave supervisor and what it needs), in any order. They form one
    /// more overlay layer above the image and below Docker's init layer: a name they share with the image replaces the
    /// image's, and they appear in the walk's sorted order. Missing parent directories are created 0755 root:root with
    /// linuxkit's mtime. Empty for <c>--runtime none</c>.
    /// </summary>
    public IReadOnlyList<RamdiskEntry> SupervisorEntries { get; init; } = [];

    /// <summary>
    /// The <c>--runtime none</c> options nitro-cli derives from an image config: <c>cmd</c> is <c>Config.Cmd</c> when the
    /// image has one and otherwise <c>Config.Entrypoint</c> — never both concatenated (nitro-cli's rule, §3.1) — and
    /// <c>env</c> is <c>Config.Env</c> or nothing.
    /// </summary>
    /// <param name="cmd">The image's <c>Config.Cmd</c>, <see langword="null"/> when absent.</param>
    /// <param name="entrypoint">The image's <c>Config.Entrypoint</c>, <see langword="null"/> when absent.</param>
    /// <param name="env">The image's <c>Config.Env</c>, <see langword="null"/> when absent.</param>
    /// <returns>Options without supervisor files.</returns>
    /// <exception cref="ArgumentException">The image has neither Cmd nor Entrypoint (nitro-cli refuses such images too).</exception>
    public static CustomerRamdiskOptions FromImageConfig(IReadOnlyList<string>? cmd, IReadOnlyList<string>? entrypoint, IReadOnlyList<string>? env) =>
        new()
        {
            Command = cmd ?? entrypoint ?? throw new ArgumentException("the image config has neither Cmd nor Entrypoint", nameof(cmd)),
            Environment = env ?? [],
        };
}

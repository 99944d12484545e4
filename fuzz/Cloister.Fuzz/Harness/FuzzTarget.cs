namespace Cloister.Fuzz.Harness;

/// <summary>
/// One parser under fuzz. <see cref="Run"/> feeds it the input and swallows only the exceptions the parser documents
/// for bad input; anything else escapes and is a finding.
/// </summary>
/// <remarks>
/// A target's constructor must not touch the instrumented Cloister assemblies: their coverage probes write to
/// afl-fuzz's shared memory, which SharpFuzz maps only when the fuzzing loop starts. State they build is lazy.
/// </remarks>
internal abstract class FuzzTarget
{
    /// <summary>The name on the command line and of the corpus folder.</summary>
    public abstract string Name { get; }

    /// <summary>What is fuzzed, in one line.</summary>
    public abstract string Summary { get; }

    /// <summary>Parses <paramref name="input"/>; returns when the parser accepted or properly refused it.</summary>
    public abstract void Run(byte[] input);

    /// <summary>The seed inputs: real files from the repository and output of the project's own writers.</summary>
    public abstract IEnumerable<Seed> Seeds(SeedSources sources);
}

/// <summary>A named seed input.</summary>
internal sealed record Seed(string Name, byte[] Bytes);

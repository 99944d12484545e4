namespace Cloister.Benchmarks.Attestation;

/// <summary>A clock stopped at one instant, so that expired real documents can be verified at their pin time.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

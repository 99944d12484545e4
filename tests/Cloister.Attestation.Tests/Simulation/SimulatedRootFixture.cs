using Cloister.Attestation.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Simulation;

/// <summary>
/// One simulated root shared by a test class (creating P-384 CAs is the slow part of these tests), valid from
/// 2025-01-01 so that both fake clocks in 2026 and the wall clock fall inside it.
/// </summary>
public sealed class SimulatedRootFixture : IDisposable
{
    public SimulatedNitroRoot Root { get; } = SimulatedNitroRoot.Create(new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)));

    public void Dispose() => Root.Dispose();
}

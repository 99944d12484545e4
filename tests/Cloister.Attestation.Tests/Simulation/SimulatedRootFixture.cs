using Cloister.Attestation.Simulation;

namespace Cloister.Attestation.Tests.Simulation;

/// <summary>One simulated root shared by a test class: creating P-384 CAs is the slow part of these tests.</summary>
public sealed class SimulatedRootFixture : IDisposable
{
    public SimulatedNitroRoot Root { get; } = SimulatedNitroRoot.Create();

    public void Dispose() => Root.Dispose();
}

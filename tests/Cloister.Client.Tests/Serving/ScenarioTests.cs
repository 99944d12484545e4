using Cloister.Attestation.Tests.Simulation;

namespace Cloister.Testing;

/// <summary>A client test class: a fresh <see cref="Scenario"/> per test over the class's simulated root.</summary>
public abstract class ScenarioTests(SimulatedRootFixture fixture) : IClassFixture<SimulatedRootFixture>, IDisposable
{
    internal Scenario Scenario { get; } = new(fixture.Root);

    internal TestEnclave Enclave => Scenario.Enclave;

    public void Dispose()
    {
        Scenario.Dispose();
        GC.SuppressFinalize(this);
    }
}

using Cloister.Attestation.Certificates;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Verification;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Testing;

/// <summary>What every client test starts from: a fake clock at <see cref="TestEnclave.Start"/>, an enclave under the shared simulated root, and verifiers for it.</summary>
internal sealed class Scenario(SimulatedNitroRoot root) : IDisposable
{
    public const string Host = "localhost";

    public FakeTimeProvider Time { get; } = new(TestEnclave.Start);

    public SimulatedNitroRoot Root => root;

    public TestEnclave Enclave { get; } = new(root, new FakeTimeProvider(TestEnclave.Start));

    /// <summary>A verifier that requires the enclave's PCRs (or <paramref name="pcrs"/>) and trusts the simulated root (unless told not to).</summary>
    public AttestedTlsVerifier Verifier(
        TlsChainTrust? trust = null, PcrPolicy? pcrs = null, TimeSpan? maxAge = null, bool allowDebugMode = false, bool trustSimulatedRoot = true) =>
        new(new AttestedTlsOptions
        {
            Pcrs = pcrs ?? Enclave.Policy,
            TrustedRoots = trustSimulatedRoot ? [root.Certificate] : null,
            ChainTrust = trust ?? TlsChainTrust.SelfSigned,
            MaxAge = maxAge,
            AllowDebugMode = allowDebugMode,
            TimeProvider = Time,
        });

    public void Dispose() => Enclave.Dispose();
}

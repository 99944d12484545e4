using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Verification;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// The whole verifier: decode, chain to a trusted root, validity times, the ES384 signature and a policy. The clock
/// is pinned to each document's own timestamp, so real (long expired) documents verify and the fuzzer reaches the
/// signature and policy checks; the chain cache is off, so every run does the same work.
/// </summary>
internal sealed class AttestationVerifyTarget : FuzzTarget
{
    private readonly PinnedClock _clock = new();
    private readonly Lazy<AttestationVerifier> _verifier;
    private readonly Lazy<AttestationPolicy> _policy = new(() => new AttestationPolicy { AllowDebugMode = false });

    public AttestationVerifyTarget()
    {
        _verifier = new(() => new AttestationVerifier(new AttestationVerifierOptions
        {
            TrustedRoots = [LoadRoot("aws-root-g1.pem"), LoadRoot("oyster-mock-root.pem")],
            TimeProvider = _clock,
            ChainCacheCapacity = 0,
        }));
    }

    public override string Name => "attestation-verify";

    public override string Summary => "AttestationVerifier.Verify (chain, times, ES384 over the Sig_structure, policy)";

    public override void Run(byte[] input)
    {
        try
        {
            _clock.Now = AttestationDocumentDecoder.Decode(input).Document.Timestamp;
        }
        catch (AttestationFormatException)
        {
            _clock.Now = DateTimeOffset.UnixEpoch;
        }

        // Verify reports every failure as a value; it throws nothing for any input.
        _ = _verifier.Value.Verify(input, _policy.Value);
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) => AttestationSeeds.Documents(sources);

    private static X509Certificate2 LoadRoot(string name) =>
        X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "roots", name)));

    private sealed class PinnedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}

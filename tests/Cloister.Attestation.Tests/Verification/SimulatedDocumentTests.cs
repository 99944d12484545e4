using System.Security.Cryptography;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Attestation.Verification;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Verification;

/// <summary>Documents from the software NSM verify like real ones, but only under the simulated root.</summary>
public sealed class SimulatedDocumentTests(SimulatedRootFixture fixture) : IClassFixture<SimulatedRootFixture>
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void A_software_nsm_document_verifies_under_the_simulated_root_only()
    {
        var options = new SoftwareNsmOptions();
        options.Pcrs[0] = RandomNumberGenerator.GetBytes(48);
        using var nsm = new SoftwareNsm(fixture.Root, options, new FakeTimeProvider(s_now));
        var nonce = RandomNumberGenerator.GetBytes(32);
        var raw = nsm.ProcessRequest(NsmCodec.Encode(new AttestationRequest(nonce: nonce)));
        var document = Assert.IsType<AttestationResponse>(NsmCodec.DecodeResponse(raw)).Document;
        var policy = new AttestationPolicy
        {
            Pcrs = PcrPolicy.Exactly(new Dictionary<int, byte[]> { [0] = options.Pcrs[0] }),
            ExpectedNonce = nonce,
        };

        var underSimulatedRoot = Verifiers.At(s_now.AddMinutes(1), fixture.Root.Certificate).Verify(document, policy);
        var byDefault = Verifiers.At(s_now.AddMinutes(1)).Verify(document);

        Assert.True(underSimulatedRoot.IsValid, underSimulatedRoot.ToString());
        Assert.Equal(nsm.ModuleId, underSimulatedRoot.Document!.Document.ModuleId);
        Assert.Equal(AttestationFailure.UntrustedRoot, byDefault.Failure);
    }
}

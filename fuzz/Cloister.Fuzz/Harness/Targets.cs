using Cloister.Fuzz.Targets;

namespace Cloister.Fuzz.Harness;

/// <summary>Every fuzz target, by name.</summary>
internal static class Targets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new AttestationDocumentTarget(),
        new AttestationVerifyTarget(),
        new CoseTarget(),
        NsmTarget.Requests,
        NsmTarget.Responses,
        new AttestedCertificateTarget(),
        new EifTarget(),
        new EifSignatureTarget(),
        new CpioTarget(),
        new LayerTarTarget(),
        new LayerBlobTarget(),
        new OciManifestTarget(),
        new OciConfigTarget(),
        new DockerArchiveTarget(),
        new EnclaveManifestTarget(),
        new ProxyProtocolTarget(),
        new EgressProxyRequestTarget(),
        new EgressLineTarget(),
        new StatusStreamTarget(),
        new LogStreamTarget(),
        new PcrMeasurementsTarget(),
        new CiphertextDecryptTarget(),
        new KmsRecipientCiphertextTarget(),
        new KmsProxyRequestTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}

using Cloister.Build.Eif;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// The COSE_Sign1 of an EIF signature (over <c>PcrInfo{0, PCR0}</c>): the input replaces the signature in the signed
/// synthetic EIF's section, which is then checked against that image's PCR0 and certificate.
/// </summary>
internal sealed class CoseTarget : FuzzTarget
{
    private readonly Lazy<(byte[] CertificatePem, byte[] Pcr0)> _signer = new(LoadSigner);

    public override string Name => "cose";

    public override string Summary => "EifSignature.Verify: COSE_Sign1 decode, PcrInfo payload, ES384 check";

    public override void Run(byte[] input)
    {
        var (pem, pcr0) = _signer.Value;
        using var signature = EifSignature.Parse(SerdeCbor.EncodeSignatureSection([(pem, input)]), 0);
        _ = signature.Verify(pcr0);
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        using var signature = EifSignature.Parse(EifSeeds.SignatureSection(sources), 0);
        return [new("synthetic-signed.cose", signature.CoseSign1)];
    }

    private static (byte[] CertificatePem, byte[] Pcr0) LoadSigner()
    {
        var sources = SeedSources.Locate(AppContext.BaseDirectory);
        using var reader = new EifReader(new MemoryStream(sources.File(EifSeeds.SignedEif), writable: false));
        using var inspection = reader.Inspect();
        return (inspection.Signature!.CertificatePem, inspection.Measurements.Pcr0);
    }
}

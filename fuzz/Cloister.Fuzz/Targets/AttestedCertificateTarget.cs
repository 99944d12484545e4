using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Documents;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// The attested certificate's SAN reader. The input is the subjectAltName extension's value: it is put in a fresh
/// certificate (the TLS stack hands the verifier a parsed certificate, so the SAN is the part Cloister reads itself),
/// then the hostnames and the embedded document are read back, and the document decoded as the TLS verifier does.
/// </summary>
internal sealed class AttestedCertificateTarget : FuzzTarget
{
    private const string SubjectAltNameOid = "2.5.29.17";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly DateTimeOffset _notBefore = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override string Name => "attested-certificate";

    public override string Summary => "AttestedCertificate.GetHostnames / TryGetDocument (subjectAltName DER) + document decode";

    public override void Run(byte[] input)
    {
        var request = new CertificateRequest("CN=fuzz", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(SubjectAltNameOid, input, critical: false));
        using var certificate = request.CreateSelfSigned(_notBefore, _notBefore.AddDays(1));
        try
        {
            _ = AttestedCertificate.GetHostnames(certificate);
            if (AttestedCertificate.TryGetDocument(certificate, out var document))
            {
                _ = AttestationDocumentDecoder.Decode(document);
            }
        }
        catch (CryptographicException)
        {
        }
        catch (AttestationFormatException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        foreach (var name in new[] { "evervault_2023-09-18_ga_debug.tls.der", "evervault_2022-11-16_cert_debug.tls.der" })
        {
            using var certificate = X509CertificateLoader.LoadCertificate(sources.File($"tests/vectors/attestation/certs/{name}"));
            yield return new Seed(Path.ChangeExtension(name, ".san"), certificate.Extensions[SubjectAltNameOid]!.RawData);
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteCharacterString(UniversalTagNumber.IA5String, "enclave.example.com", new Asn1Tag(TagClass.ContextSpecific, 2));
            writer.WriteCharacterString(UniversalTagNumber.IA5String, $"{new string('a', 70)}.enclave.example.com", new Asn1Tag(TagClass.ContextSpecific, 2));
            writer.WriteOctetString([127, 0, 0, 1], new Asn1Tag(TagClass.ContextSpecific, 7));
        }

        yield return new Seed("hostnames.san", writer.Encode());
    }
}

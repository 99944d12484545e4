using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Documents;

namespace Cloister.Attestation.Tests;

/// <summary>How to deviate from a well-formed root → intermediate → leaf chain.</summary>
internal sealed record PkiShape
{
    public int? RootPathLength { get; init; }

    public bool IntermediateIsCa { get; init; } = true;

    /// <summary>Gives the intermediate a basicConstraints extension whose value is not DER.</summary>
    public bool IntermediateHasUndecodableBasicConstraints { get; init; }

    public X509KeyUsageFlags IntermediateUsage { get; init; } = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign;

    public X509KeyUsageFlags LeafUsage { get; init; } = X509KeyUsageFlags.DigitalSignature;

    public bool LeafHasUnknownCriticalExtension { get; init; }

    public string RootSubject { get; init; } = "CN=cloister-test-root";

    public ECCurve LeafCurve { get; init; } = ECCurve.NamedCurves.nistP384;
}

/// <summary>A P-384 test chain shaped like the NSM's (root, one CA, leaf), and documents signed under it.</summary>
internal sealed class TestPki : IDisposable
{
    public static readonly DateTimeOffset NotBefore = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset NotAfter = new(2035, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LeafNotAfter = NotBefore.AddHours(3);

    private TestPki(ECDsa rootKey, ECDsa leafKey, X509Certificate2 root, byte[] intermediate, byte[] leaf)
    {
        RootKey = rootKey;
        LeafKey = leafKey;
        Root = root;
        Intermediate = intermediate;
        Leaf = leaf;
    }

    public ECDsa RootKey { get; }

    public ECDsa LeafKey { get; }

    public X509Certificate2 Root { get; }

    public byte[] Intermediate { get; }

    public byte[] Leaf { get; }

    public static TestPki Create(PkiShape? shape = null)
    {
        shape ??= new PkiShape();
        var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var leafKey = ECDsa.Create(shape.LeafCurve);

        var rootRequest = new CertificateRequest(shape.RootSubject, rootKey, HashAlgorithmName.SHA384);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, shape.RootPathLength is not null, shape.RootPathLength ?? 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var root = rootRequest.CreateSelfSigned(NotBefore, NotAfter);

        var intermediateRequest = new CertificateRequest("CN=cloister-test-intermediate", intermediateKey, HashAlgorithmName.SHA384);
        intermediateRequest.CertificateExtensions.Add(shape.IntermediateHasUndecodableBasicConstraints
            ? new X509Extension("2.5.29.19", [0x30, 0x03, 0x01, 0x01], critical: true)
            : new X509BasicConstraintsExtension(shape.IntermediateIsCa, shape.IntermediateIsCa, 0, true));
        intermediateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(shape.IntermediateUsage, true));
        var intermediate = intermediateRequest.Create(
            root.SubjectName, X509SignatureGenerator.CreateForECDsa(rootKey), NotBefore, NotAfter, [1]);

        var leafRequest = new CertificateRequest("CN=i-0123456789abcdef0-enc0123456789abcdef.test.aws", leafKey, HashAlgorithmName.SHA384);
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(shape.LeafUsage, true));
        if (shape.LeafHasUnknownCriticalExtension)
        {
            leafRequest.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.99999.1", [0x05, 0x00], critical: true));
        }

        var leaf = leafRequest.Create(
            intermediate.SubjectName, X509SignatureGenerator.CreateForECDsa(intermediateKey), NotBefore, LeafNotAfter, [2]);
        return new TestPki(rootKey, leafKey, root, intermediate.RawData, leaf.RawData);
    }

    /// <summary>A document signed by the leaf, cabundle root first as the NSM writes it.</summary>
    public byte[] Sign(DateTimeOffset? timestamp = null, IReadOnlyList<byte[]>? caBundle = null) =>
        AttestationDocumentWriter.Write(Document(timestamp, caBundle), LeafKey);

    /// <summary>Signs any payload with the leaf key: a document whose signature and chain are genuine, whatever it says.</summary>
    public byte[] Sign(byte[] payload) => AttestationDocumentWriter.Sign(payload, LeafKey);

    /// <summary>The payload <see cref="Sign(DateTimeOffset?, IReadOnlyList{byte[]}?)"/> signs.</summary>
    public AttestationDocument Document(DateTimeOffset? timestamp = null, IReadOnlyList<byte[]>? caBundle = null) => new(
        "i-0123456789abcdef0-enc0123456789abcdef",
        "SHA384",
        timestamp ?? NotBefore.AddMinutes(1),
        Pcrs(),
        Leaf,
        caBundle ?? [Root.RawData, Intermediate]);

    /// <summary>16 PCRs of 48 bytes, each filled with its index plus one: a non-debug enclave.</summary>
    private static Dictionary<int, byte[]> Pcrs() =>
        Enumerable.Range(0, 16).ToDictionary(i => i, i => Enumerable.Repeat((byte)(i + 1), 48).ToArray());

    public void Dispose()
    {
        RootKey.Dispose();
        LeafKey.Dispose();
        Root.Dispose();
    }
}

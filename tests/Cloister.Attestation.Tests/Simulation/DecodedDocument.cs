using System.Formats.Cbor;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Tests.Simulation;

/// <summary>
/// A test-only decoding of an attestation document's COSE envelope and payload with System.Formats.Cbor, independent
/// of the library's own reader, keeping the raw layout facts the tests check (key order, map header).
/// </summary>
internal sealed class DecodedDocument
{
    private DecodedDocument(byte[] cose)
    {
        Cose = cose;
        var envelope = new CborReader(cose);
        Assert.Equal(4, envelope.ReadStartArray());
        ProtectedHeader = envelope.ReadByteString();
        Assert.Equal(0, envelope.ReadStartMap());
        envelope.ReadEndMap();
        Payload = envelope.ReadByteString();
        Signature = envelope.ReadByteString();
        envelope.ReadEndArray();
        Assert.Equal(0, envelope.BytesRemaining);

        var payload = new CborReader(Payload, CborConformanceMode.Lax);
        var count = payload.ReadStartMap();
        Assert.True(count is null or 9);
        while (payload.PeekState() != CborReaderState.EndMap)
        {
            var key = payload.ReadTextString();
            Keys.Add(key);
            switch (key)
            {
                case "module_id":
                    ModuleId = payload.ReadTextString();
                    break;
                case "digest":
                    Digest = payload.ReadTextString();
                    break;
                case "timestamp":
                    Timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)payload.ReadUInt64());
                    break;
                case "pcrs":
                    Assert.NotNull(payload.ReadStartMap());
                    while (payload.PeekState() != CborReaderState.EndMap)
                    {
                        Pcrs.Add(payload.ReadInt32(), payload.ReadByteString());
                    }

                    payload.ReadEndMap();
                    break;
                case "certificate":
                    Certificate = payload.ReadByteString();
                    break;
                case "cabundle":
                    payload.ReadStartArray();
                    while (payload.PeekState() != CborReaderState.EndArray)
                    {
                        CaBundle.Add(payload.ReadByteString());
                    }

                    payload.ReadEndArray();
                    break;
                default:
                    Optional[key] = payload.PeekState() == CborReaderState.Null ? ReadNull(payload) : payload.ReadByteString();
                    break;
            }
        }

        payload.ReadEndMap();
    }

    public byte[] Cose { get; }

    public byte[] ProtectedHeader { get; }

    public byte[] Payload { get; }

    public byte[] Signature { get; }

    public List<string> Keys { get; } = [];

    public string? ModuleId { get; }

    public string? Digest { get; }

    public DateTimeOffset Timestamp { get; }

    public SortedDictionary<int, byte[]> Pcrs { get; } = [];

    public byte[] Certificate { get; } = [];

    public List<byte[]> CaBundle { get; } = [];

    public Dictionary<string, byte[]?> Optional { get; } = [];

    public static DecodedDocument Decode(byte[] cose) => new(cose);

    public X509Certificate2 Leaf() => X509CertificateLoader.LoadCertificate(Certificate);

    public bool SignatureVerifies()
    {
        using var leaf = Leaf();
        using var key = leaf.GetECDsaPublicKey()!;
        return CoseSign1Message.DecodeSign1(Cose).VerifyEmbedded(key);
    }

    /// <summary>Builds certificate → cabundle[n-1] … → trust anchor at the document's time, as AWS prescribes.</summary>
    public bool ChainBuildsTo(X509Certificate2 trustAnchor, DateTimeOffset? at = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = (at ?? Timestamp).UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.Add(trustAnchor);
        foreach (var ca in CaBundle.Skip(1))
        {
            chain.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(ca));
        }

        using var leaf = Leaf();
        return chain.Build(leaf);
    }

    private static byte[]? ReadNull(CborReader reader)
    {
        reader.ReadNull();
        return null;
    }
}

using System.Formats.Cbor;

namespace Cloister.Build.Eif;

/// <summary>
/// The CBOR shapes serde_cbor 0.11 gives the image format's structs: <c>Vec&lt;u8&gt;</c> fields become arrays of
/// unsigned integers (minimal length), not byte strings. Readers also accept byte strings.
/// </summary>
internal static class SerdeCbor
{
    private const string RegisterIndexKey = "register_index";
    private const string RegisterValueKey = "register_value";
    private const string SigningCertificateKey = "signing_certificate";
    private const string SignatureKey = "signature";

    /// <summary>Encodes <c>PcrInfo { register_index, register_value }</c>, the payload of a PCR signature.</summary>
    public static byte[] EncodePcrInfo(int registerIndex, ReadOnlySpan<byte> registerValue)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(2);
        writer.WriteTextString(RegisterIndexKey);
        writer.WriteInt32(registerIndex);
        writer.WriteTextString(RegisterValueKey);
        WriteBytes(writer, registerValue);
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>Decodes <c>PcrInfo</c>; throws <see cref="SerdeCborException"/> on any other shape.</summary>
    public static (int RegisterIndex, byte[] RegisterValue) DecodePcrInfo(ReadOnlyMemory<byte> encoded)
    {
        const string Struct = "PcrInfo";
        var reader = new SerdeCborReader(encoded);
        int? index = null;
        byte[]? value = null;
        var count = reader.ReadStartMap(Struct);
        for (var i = 0; reader.HasMore(Struct, count, i); i++)
        {
            switch (reader.ReadTextString($"{Struct} key {i}"))
            {
                case RegisterIndexKey: index = reader.ReadInt32($"{Struct}.{RegisterIndexKey}"); break;
                case RegisterValueKey: value = reader.ReadBytes($"{Struct}.{RegisterValueKey}"); break;
                default: reader.SkipValue($"{Struct} value {i}"); break;
            }
        }

        reader.ReadEndMap(Struct);
        reader.EnsureEnd(Struct);
        return (index ?? throw new SerdeCborException(Struct, 0, $"has no {RegisterIndexKey}"),
            value ?? throw new SerdeCborException(Struct, 0, $"has no {RegisterValueKey}"));
    }

    /// <summary>Encodes the signature section: <c>Vec&lt;PcrSignature { signing_certificate, signature }&gt;</c>.</summary>
    public static byte[] EncodeSignatureSection(IReadOnlyList<(byte[] CertificatePem, byte[] CoseSign1)> signatures)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartArray(signatures.Count);
        foreach (var (certificatePem, coseSign1) in signatures)
        {
            writer.WriteStartMap(2);
            writer.WriteTextString(SigningCertificateKey);
            WriteBytes(writer, certificatePem);
            writer.WriteTextString(SignatureKey);
            WriteBytes(writer, coseSign1);
            writer.WriteEndMap();
        }

        writer.WriteEndArray();
        return writer.Encode();
    }

    /// <summary>Decodes the signature section; throws <see cref="SerdeCborException"/> on any other shape.</summary>
    public static List<(byte[] CertificatePem, byte[] CoseSign1)> DecodeSignatureSection(ReadOnlyMemory<byte> encoded)
    {
        const string Section = "the signature section";
        var reader = new SerdeCborReader(encoded);
        var signatures = new List<(byte[], byte[])>();
        var count = reader.ReadStartArray(Section);
        for (var i = 0; reader.HasMore(Section, count, i); i++)
        {
            var entry = $"signature[{i}]";
            var start = reader.Offset;
            byte[]? certificate = null;
            byte[]? signature = null;
            var fields = reader.ReadStartMap(entry);
            for (var j = 0; reader.HasMore(entry, fields, j); j++)
            {
                switch (reader.ReadTextString($"{entry} key {j}"))
                {
                    case SigningCertificateKey: certificate = reader.ReadBytes($"{entry}.{SigningCertificateKey}"); break;
                    case SignatureKey: signature = reader.ReadBytes($"{entry}.{SignatureKey}"); break;
                    default: reader.SkipValue($"{entry} value {j}"); break;
                }
            }

            reader.ReadEndMap(entry);
            signatures.Add((
                certificate ?? throw new SerdeCborException(entry, start, $"has no {SigningCertificateKey}"),
                signature ?? throw new SerdeCborException(entry, start, $"has no {SignatureKey}")));
        }

        reader.ReadEndArray(Section);
        reader.EnsureEnd(Section);
        return signatures;
    }

    private static void WriteBytes(CborWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.WriteStartArray(bytes.Length);
        foreach (var b in bytes)
        {
            writer.WriteUInt32(b);
        }

        writer.WriteEndArray();
    }
}

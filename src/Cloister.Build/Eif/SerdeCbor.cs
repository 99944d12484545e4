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

    /// <summary>Decodes <c>PcrInfo</c>; throws <see cref="CborContentException"/> or <see cref="InvalidOperationException"/> on other shapes, <see cref="OverflowException"/> on an integer beyond its field.</summary>
    public static (int RegisterIndex, byte[] RegisterValue) DecodePcrInfo(ReadOnlyMemory<byte> encoded)
    {
        var reader = new CborReader(encoded, CborConformanceMode.Lax);
        int? index = null;
        byte[]? value = null;
        var count = reader.ReadStartMap();
        for (var i = 0; count is null ? reader.PeekState() != CborReaderState.EndMap : i < count; i++)
        {
            switch (reader.ReadTextString())
            {
                case RegisterIndexKey: index = reader.ReadInt32(); break;
                case RegisterValueKey: value = ReadBytes(reader); break;
                default: reader.SkipValue(); break;
            }
        }

        reader.ReadEndMap();
        EnsureEnd(reader);
        return (index ?? throw new CborContentException($"PcrInfo has no {RegisterIndexKey}"),
            value ?? throw new CborContentException($"PcrInfo has no {RegisterValueKey}"));
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

    /// <summary>Decodes the signature section; throws <see cref="CborContentException"/> or <see cref="InvalidOperationException"/> on other shapes, <see cref="OverflowException"/> on an integer beyond its field.</summary>
    public static List<(byte[] CertificatePem, byte[] CoseSign1)> DecodeSignatureSection(ReadOnlyMemory<byte> encoded)
    {
        var reader = new CborReader(encoded, CborConformanceMode.Lax);
        var signatures = new List<(byte[], byte[])>();
        var count = reader.ReadStartArray();
        for (var i = 0; count is null ? reader.PeekState() != CborReaderState.EndArray : i < count; i++)
        {
            byte[]? certificate = null;
            byte[]? signature = null;
            var fields = reader.ReadStartMap();
            for (var j = 0; fields is null ? reader.PeekState() != CborReaderState.EndMap : j < fields; j++)
            {
                switch (reader.ReadTextString())
                {
                    case SigningCertificateKey: certificate = ReadBytes(reader); break;
                    case SignatureKey: signature = ReadBytes(reader); break;
                    default: reader.SkipValue(); break;
                }
            }

            reader.ReadEndMap();
            signatures.Add((
                certificate ?? throw new CborContentException($"signature {i} has no {SigningCertificateKey}"),
                signature ?? throw new CborContentException($"signature {i} has no {SignatureKey}")));
        }

        reader.ReadEndArray();
        EnsureEnd(reader);
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

    private static byte[] ReadBytes(CborReader reader)
    {
        if (reader.PeekState() == CborReaderState.ByteString)
        {
            return reader.ReadByteString();
        }

        var bytes = new List<byte>();
        var count = reader.ReadStartArray();
        for (var i = 0; count is null ? reader.PeekState() != CborReaderState.EndArray : i < count; i++)
        {
            var value = reader.ReadUInt32();
            bytes.Add(value <= byte.MaxValue ? (byte)value : throw new CborContentException($"byte array element {i} is {value}, above 255"));
        }

        reader.ReadEndArray();
        return [.. bytes];
    }

    private static void EnsureEnd(CborReader reader)
    {
        if (reader.BytesRemaining != 0)
        {
            throw new CborContentException($"{reader.BytesRemaining} bytes follow the CBOR value");
        }
    }
}

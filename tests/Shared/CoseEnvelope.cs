using System.Formats.Cbor;

namespace Cloister.Testing;

/// <summary>Builds COSE_Sign1 envelopes by hand, so tests can put any header, payload or signature in one.</summary>
internal static class CoseEnvelope
{
    /// <summary>An untagged COSE_Sign1 with an empty unprotected header.</summary>
    public static byte[] Untagged(byte[] protectedHeader, byte[] payload, byte[] signature)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartArray(4);
        writer.WriteByteString(protectedHeader);
        writer.WriteStartMap(0);
        writer.WriteEndMap();
        writer.WriteByteString(payload);
        writer.WriteByteString(signature);
        writer.WriteEndArray();
        return writer.Encode();
    }
}

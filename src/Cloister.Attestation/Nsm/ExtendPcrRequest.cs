using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Extends a PCR, <c>PCR = SHA384(PCR ‖ data)</c>: <c>{"ExtendPCR":{"index":u16,"data":bstr}}</c>.</summary>
public sealed class ExtendPcrRequest : NsmRequest
{
    /// <summary>Creates the request to extend PCR <paramref name="index"/> with <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    public ExtendPcrRequest(ushort index, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Index = index;
        Data = data;
    }

    /// <summary>The PCR to extend.</summary>
    public ushort Index { get; }

    /// <summary>The raw bytes hashed into the PCR (not pre-hashed).</summary>
    public byte[] Data { get; }

    internal override void Write(CborWriter writer)
    {
        NsmMessageWriter.WriteStructStart(writer, NsmVariants.ExtendPcr, 2);
        writer.WriteTextString("index");
        writer.WriteUInt32(Index);
        writer.WriteTextString("data");
        writer.WriteByteString(Data);
        NsmMessageWriter.WriteStructEnd(writer);
    }

    internal static ExtendPcrRequest Read(NsmMessageReader reader)
    {
        ushort? index = null;
        byte[]? data = null;
        reader.ReadStruct(("index", () => index = reader.ReadUInt16()), ("data", () => data = reader.ReadByteString()));
        return new(reader.Required(index, "index"), reader.Required(data, "data"));
    }
}

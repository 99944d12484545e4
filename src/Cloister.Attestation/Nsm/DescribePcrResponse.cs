using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>A PCR's state: <c>{"DescribePCR":{"lock":bool,"data":bstr}}</c>.</summary>
public sealed class DescribePcrResponse : NsmResponse
{
    /// <summary>Creates the response.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    public DescribePcrResponse(bool locked, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Locked = locked;
        Data = data;
    }

    /// <summary>Whether the PCR is locked (read-only).</summary>
    public bool Locked { get; }

    /// <summary>The PCR's current value (48 bytes on Nitro).</summary>
    public byte[] Data { get; }

    internal override void Write(CborWriter writer)
    {
        NsmMessageWriter.WriteStructStart(writer, NsmVariants.DescribePcr, 2);
        writer.WriteTextString("lock");
        writer.WriteBoolean(Locked);
        writer.WriteTextString("data");
        writer.WriteByteString(Data);
        NsmMessageWriter.WriteStructEnd(writer);
    }

    internal static DescribePcrResponse Read(NsmMessageReader reader)
    {
        bool? locked = null;
        byte[]? data = null;
        reader.ReadStruct(("lock", () => locked = reader.ReadBoolean()), ("data", () => data = reader.ReadByteString()));
        return new(reader.Required(locked, "lock"), reader.Required(data, "data"));
    }
}

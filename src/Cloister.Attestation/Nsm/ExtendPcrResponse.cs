using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>The PCR's value after an extension: <c>{"ExtendPCR":{"data":bstr}}</c>.</summary>
public sealed class ExtendPcrResponse : NsmResponse
{
    /// <summary>Creates the response.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    public ExtendPcrResponse(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Data = data;
    }

    /// <summary>The PCR's new value.</summary>
    public byte[] Data { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteByteStringStruct(writer, NsmVariants.ExtendPcr, "data", Data);

    internal static ExtendPcrResponse Read(NsmMessageReader reader) => new(reader.ReadByteStringStruct("data"));
}

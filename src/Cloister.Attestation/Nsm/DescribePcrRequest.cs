using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Reads a PCR's value and lock state: <c>{"DescribePCR":{"index":u16}}</c>.</summary>
public sealed class DescribePcrRequest : NsmRequest
{
    /// <summary>Creates the request for PCR <paramref name="index"/>.</summary>
    public DescribePcrRequest(ushort index) => Index = index;

    /// <summary>The PCR to describe (0–31 on Nitro; larger values get <see cref="NsmErrorCode.InvalidIndex"/>).</summary>
    public ushort Index { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteUInt16Struct(writer, NsmVariants.DescribePcr, "index", Index);

    internal static DescribePcrRequest Read(NsmMessageReader reader) => new(reader.ReadUInt16Struct("index"));
}

using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Locks one PCR against further extension: <c>{"LockPCR":{"index":u16}}</c>.</summary>
public sealed class LockPcrRequest : NsmRequest
{
    /// <summary>Creates the request to lock PCR <paramref name="index"/>.</summary>
    public LockPcrRequest(ushort index) => Index = index;

    /// <summary>The PCR to lock.</summary>
    public ushort Index { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteUInt16Struct(writer, NsmVariants.LockPcr, "index", Index);

    internal static LockPcrRequest Read(NsmMessageReader reader) => new(reader.ReadUInt16Struct("index"));
}

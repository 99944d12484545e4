using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Locks PCRs <c>[0, range)</c>: <c>{"LockPCRs":{"range":u16}}</c>.</summary>
public sealed class LockPcrsRequest : NsmRequest
{
    /// <summary>Creates the request to lock the first <paramref name="range"/> PCRs.</summary>
    public LockPcrsRequest(ushort range) => Range = range;

    /// <summary>How many PCRs to lock, starting at 0 (at most 32 on Nitro).</summary>
    public ushort Range { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteUInt16Struct(writer, NsmVariants.LockPcrs, "range", Range);

    internal static LockPcrsRequest Read(NsmMessageReader reader) => new(reader.ReadUInt16Struct("range"));
}

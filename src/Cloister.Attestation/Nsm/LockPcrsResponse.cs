using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>The PCRs were locked: the text <c>"LockPCRs"</c>.</summary>
public sealed class LockPcrsResponse : NsmResponse
{
    private LockPcrsResponse()
    {
    }

    /// <summary>The response (it has no fields).</summary>
    public static LockPcrsResponse Instance { get; } = new();

    internal override void Write(CborWriter writer) => NsmMessageWriter.WriteUnit(writer, NsmVariants.LockPcrs);

    internal static LockPcrsResponse Read(NsmMessageReader reader)
    {
        reader.ReadUnit();
        return Instance;
    }
}

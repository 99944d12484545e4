using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>The PCR was locked: the text <c>"LockPCR"</c>.</summary>
public sealed class LockPcrResponse : NsmResponse
{
    private LockPcrResponse()
    {
    }

    /// <summary>The response (it has no fields).</summary>
    public static LockPcrResponse Instance { get; } = new();

    internal override void Write(CborWriter writer) => NsmMessageWriter.WriteUnit(writer, NsmVariants.LockPcr);

    internal static LockPcrResponse Read(NsmMessageReader reader)
    {
        reader.ReadUnit();
        return Instance;
    }
}

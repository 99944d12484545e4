using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Asks the NSM for entropy: the text <c>"GetRandom"</c>.</summary>
public sealed class GetRandomRequest : NsmRequest
{
    private GetRandomRequest()
    {
    }

    /// <summary>The request (it has no fields).</summary>
    public static GetRandomRequest Instance { get; } = new();

    internal override void Write(CborWriter writer) => NsmMessageWriter.WriteUnit(writer, NsmVariants.GetRandom);

    internal static GetRandomRequest Read(NsmMessageReader reader)
    {
        reader.ReadUnit();
        return Instance;
    }
}

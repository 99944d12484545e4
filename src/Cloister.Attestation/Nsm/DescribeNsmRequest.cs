using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Asks for the NSM's version, module id and PCR configuration: the text <c>"DescribeNSM"</c>.</summary>
public sealed class DescribeNsmRequest : NsmRequest
{
    private DescribeNsmRequest()
    {
    }

    /// <summary>The request (it has no fields).</summary>
    public static DescribeNsmRequest Instance { get; } = new();

    internal override void Write(CborWriter writer) => NsmMessageWriter.WriteUnit(writer, NsmVariants.DescribeNsm);

    internal static DescribeNsmRequest Read(NsmMessageReader reader)
    {
        reader.ReadUnit();
        return Instance;
    }
}

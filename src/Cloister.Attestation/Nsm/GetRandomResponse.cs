using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>Entropy from the NSM: <c>{"GetRandom":{"random":bstr}}</c>.</summary>
public sealed class GetRandomResponse : NsmResponse
{
    /// <summary>Creates the response.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="random"/> is <see langword="null"/>.</exception>
    public GetRandomResponse(byte[] random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Random = random;
    }

    /// <summary>The random bytes.</summary>
    public byte[] Random { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteByteStringStruct(writer, NsmVariants.GetRandom, "random", Random);

    internal static GetRandomResponse Read(NsmMessageReader reader) => new(reader.ReadByteStringStruct("random"));
}

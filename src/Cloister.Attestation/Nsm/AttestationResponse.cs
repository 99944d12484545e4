using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>A signed attestation document: <c>{"Attestation":{"document":bstr}}</c>.</summary>
public sealed class AttestationResponse : NsmResponse
{
    /// <summary>Creates the response.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="document"/> is <see langword="null"/>.</exception>
    public AttestationResponse(byte[] document)
    {
        ArgumentNullException.ThrowIfNull(document);
        Document = document;
    }

    /// <summary>The attestation document: an untagged COSE_Sign1 (reference/eif-nsm-spec.md §6).</summary>
    public byte[] Document { get; }

    internal override void Write(CborWriter writer) =>
        NsmMessageWriter.WriteByteStringStruct(writer, NsmVariants.Attestation, "document", Document);

    internal static AttestationResponse Read(NsmMessageReader reader) => new(reader.ReadByteStringStruct("document"));
}

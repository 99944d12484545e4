using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// Asks the NSM for a signed attestation document:
/// <c>{"Attestation":{"user_data":bstr|null,"nonce":bstr|null,"public_key":bstr|null}}</c>.
/// </summary>
public sealed class AttestationRequest : NsmRequest
{
    /// <summary>Creates the request; each argument is copied into the document as given, <see langword="null"/> for none.</summary>
    public AttestationRequest(byte[]? userData = null, byte[]? nonce = null, byte[]? publicKey = null)
    {
        UserData = userData;
        Nonce = nonce;
        PublicKey = publicKey;
    }

    /// <summary>Caller data for the document's <c>user_data</c>, or <see langword="null"/>.</summary>
    public byte[]? UserData { get; }

    /// <summary>The relying party's nonce for the document's <c>nonce</c>, or <see langword="null"/>.</summary>
    public byte[]? Nonce { get; }

    /// <summary>A public key for the document's <c>public_key</c>, or <see langword="null"/>.</summary>
    public byte[]? PublicKey { get; }

    internal override void Write(CborWriter writer)
    {
        NsmMessageWriter.WriteStructStart(writer, NsmVariants.Attestation, 3);
        writer.WriteTextString("user_data");
        NsmMessageWriter.WriteOptionalByteString(writer, UserData);
        writer.WriteTextString("nonce");
        NsmMessageWriter.WriteOptionalByteString(writer, Nonce);
        writer.WriteTextString("public_key");
        NsmMessageWriter.WriteOptionalByteString(writer, PublicKey);
        NsmMessageWriter.WriteStructEnd(writer);
    }

    internal static AttestationRequest Read(NsmMessageReader reader)
    {
        byte[]? userData = null, nonce = null, publicKey = null;
        reader.ReadStruct(
            ("user_data", () => userData = reader.ReadOptionalByteString()),
            ("nonce", () => nonce = reader.ReadOptionalByteString()),
            ("public_key", () => publicKey = reader.ReadOptionalByteString()));
        return new(userData, nonce, publicKey);
    }
}

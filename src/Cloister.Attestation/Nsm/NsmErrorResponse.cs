using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>The NSM refused the request: <c>{"Error":"&lt;ErrorCode&gt;"}</c>.</summary>
public sealed class NsmErrorResponse : NsmResponse
{
    /// <summary>Creates the response.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not a defined <see cref="NsmErrorCode"/>.</exception>
    public NsmErrorResponse(NsmErrorCode code)
    {
        if (!Enum.IsDefined(code))
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "not an NSM error code");
        }

        Code = code;
    }

    /// <summary>Why the NSM refused the request.</summary>
    public NsmErrorCode Code { get; }

    internal override void Write(CborWriter writer)
    {
        writer.WriteStartMap(1);
        writer.WriteTextString(NsmVariants.Error);
        writer.WriteTextString(Code.ToString());
        writer.WriteEndMap();
    }

    internal static NsmErrorResponse Read(NsmMessageReader reader)
    {
        var name = reader.ReadNewtypeText();
        // Enum.TryParse also takes digits ("812"): a name must be one of the enum's, spelled as it spells it.
        return Enum.TryParse<NsmErrorCode>(name, ignoreCase: false, out var code) && Enum.IsDefined(code) && name == code.ToString()
            ? new(code)
            : throw reader.Fail($"unknown error code '{name}'");
    }
}

using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// Encodes and decodes NSM requests and responses exactly as the NSM and its Rust client library do
/// (serde_cbor's externally tagged enums, reference/eif-nsm-spec.md §5.1–5.2).
/// </summary>
/// <remarks>
/// Encoding is byte-identical to serde_cbor: definite lengths, shortest integers, fields in declaration
/// order, <c>None</c> as <c>null</c>. Decoding is as lenient as serde and no more: fields in any order,
/// unknown fields ignored, definite or indefinite lengths; a wrong type, a missing field, a duplicate
/// field, an unknown variant or trailing bytes is an <see cref="NsmFormatException"/>.
/// The codec does not enforce <see cref="MaxRequestLength"/>: the NSM answers larger requests with
/// <see cref="NsmErrorCode.InputTooLarge"/>, and a client must be able to send one to see that.
/// </remarks>
public static class NsmCodec
{
    /// <summary>The largest request the NSM accepts, in bytes (0x1000).</summary>
    public const int MaxRequestLength = 0x1000;

    /// <summary>The size of the response buffer the NSM driver supplies, in bytes (0x3000).</summary>
    public const int ResponseBufferLength = 0x3000;

    /// <summary>Encodes a request or response.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is <see langword="null"/>.</exception>
    public static byte[] Encode(NsmMessage message) => CreateWriter(message).Encode();

    /// <summary>Encodes a request or response into <paramref name="destination"/>.</summary>
    /// <returns><see langword="false"/> when <paramref name="destination"/> is too small; nothing is then written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is <see langword="null"/>.</exception>
    public static bool TryEncode(NsmMessage message, Span<byte> destination, out int bytesWritten) =>
        CreateWriter(message).TryEncode(destination, out bytesWritten);

    /// <summary>Decodes a request, as the NSM receives it.</summary>
    /// <exception cref="NsmFormatException">The bytes are not exactly one well-formed request.</exception>
    public static NsmRequest DecodeRequest(ReadOnlyMemory<byte> message) =>
        NsmMessageReader.Read<NsmRequest>(message, static reader => reader.ReadVariant() switch
        {
            NsmVariants.DescribePcr => DescribePcrRequest.Read(reader),
            NsmVariants.ExtendPcr => ExtendPcrRequest.Read(reader),
            NsmVariants.LockPcr => LockPcrRequest.Read(reader),
            NsmVariants.LockPcrs => LockPcrsRequest.Read(reader),
            NsmVariants.DescribeNsm => DescribeNsmRequest.Read(reader),
            NsmVariants.Attestation => AttestationRequest.Read(reader),
            NsmVariants.GetRandom => GetRandomRequest.Read(reader),
            var other => throw reader.Fail($"unknown request '{other}'"),
        });

    /// <summary>Decodes a response, as the NSM's client receives it.</summary>
    /// <exception cref="NsmFormatException">The bytes are not exactly one well-formed response.</exception>
    public static NsmResponse DecodeResponse(ReadOnlyMemory<byte> message) =>
        NsmMessageReader.Read<NsmResponse>(message, static reader => reader.ReadVariant() switch
        {
            NsmVariants.DescribePcr => DescribePcrResponse.Read(reader),
            NsmVariants.ExtendPcr => ExtendPcrResponse.Read(reader),
            NsmVariants.LockPcr => LockPcrResponse.Read(reader),
            NsmVariants.LockPcrs => LockPcrsResponse.Read(reader),
            NsmVariants.DescribeNsm => DescribeNsmResponse.Read(reader),
            NsmVariants.Attestation => AttestationResponse.Read(reader),
            NsmVariants.GetRandom => GetRandomResponse.Read(reader),
            NsmVariants.Error => NsmErrorResponse.Read(reader),
            var other => throw reader.Fail($"unknown response '{other}'"),
        });

    private static CborWriter CreateWriter(NsmMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var writer = new CborWriter(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
        message.Write(writer);
        return writer;
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cloister.Attestation.Verification;

/// <summary>
/// The ES384 check of a COSE_Sign1 (RFC 9052 §4.4): SHA-384 over
/// <c>Sig_structure = ["Signature1", protected, h'', payload]</c>, signature raw r‖s.
/// </summary>
internal static class CoseSignature
{
    /// <summary>COSE algorithm ES384 (ECDSA P-384 with SHA-384).</summary>
    public const int Es384 = -35;

    /// <summary>r‖s for P-384: 48 + 48 bytes.</summary>
    public const int Es384SignatureLength = 96;

    /// <summary>The Sig_structure's opening: array(4) and text(10) "Signature1".</summary>
    private static ReadOnlySpan<byte> Context => [0x84, 0x6A, 0x53, 0x69, 0x67, 0x6E, 0x61, 0x74, 0x75, 0x72, 0x65, 0x31];

    /// <summary>The empty external_aad: bstr(0).</summary>
    private const byte EmptyByteString = 0x40;

    public static bool Verify(ECDsa key, ReadOnlySpan<byte> protectedHeader, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        var length = Context.Length + ByteStringLength(protectedHeader.Length) + 1 + ByteStringLength(payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var structure = buffer.AsSpan(0, length);
            Context.CopyTo(structure);
            var written = Context.Length;
            written += WriteByteString(structure[written..], protectedHeader);
            structure[written++] = EmptyByteString;
            WriteByteString(structure[written..], payload);

            Span<byte> hash = stackalloc byte[SHA384.HashSizeInBytes];
            SHA384.HashData(structure, hash);
            return key.VerifyHash(hash, signature);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int ByteStringLength(int length) => HeaderLength(length) + length;

    private static int HeaderLength(int length) => length switch
    {
        < 24 => 1,
        <= byte.MaxValue => 2,
        <= ushort.MaxValue => 3,
        _ => 5,
    };

    private static int WriteByteString(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        var header = HeaderLength(value.Length);
        switch (header)
        {
            case 1:
                destination[0] = (byte)(0x40 | value.Length);
                break;
            case 2:
                destination[0] = 0x58;
                destination[1] = (byte)value.Length;
                break;
            case 3:
                destination[0] = 0x59;
                BinaryPrimitives.WriteUInt16BigEndian(destination[1..], (ushort)value.Length);
                break;
            default:
                destination[0] = 0x5A;
                BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)value.Length);
                break;
        }

        value.CopyTo(destination[header..]);
        return header + value.Length;
    }
}

using System.Buffers.Binary;
using System.Text;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Ciphertexts;

/// <summary>
/// The Cloister ciphertext, version 1, byte by byte (docs/encryption.md):
/// <code>
/// 0   version            1 byte   0x01
/// 1   algorithm          1 byte   CiphertextAlgorithm
/// 2   plaintext kind     1 byte   PlaintextKind
/// 3   key id             8 bytes  big-endian
/// 11  key version        4 bytes  big-endian, ≥ 1
/// 15  key material       16 bytes (DataKey: HKDF salt) or 97 bytes (PublicKey: the sender's uncompressed P-384 point)
/// ..  nonce              12 bytes
/// ..  ciphertext         as long as the plaintext
/// ..  tag                16 bytes
/// </code>
/// The associated data is the ASCII <c>cloister ciphertext v1</c>, one byte giving the deployment name's UTF-8 length,
/// the name, then the header (every byte before the nonce): a changed header byte or another deployment's name fails
/// authentication. A string (a JSON leaf) is <c>cl:</c> followed by the bytes in unpadded base64url.
/// </summary>
internal static class CiphertextLayout
{
    public const byte Version = 1;
    public const int FixedHeaderSize = 15;
    public const int SaltSize = 16;
    public const int PointSize = Keys.P384.PointSize;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int KeySize = 32;
    public const int MaxHeaderSize = FixedHeaderSize + PointSize;
    public const int MaxDeploymentNameBytes = 255;

    /// <summary>What begins every ciphertext string.</summary>
    public static ReadOnlySpan<byte> TextPrefix => "cl:"u8;

    private static ReadOnlySpan<byte> AssociatedDataLabel => "cloister ciphertext v1"u8;

    /// <summary>The most associated-data bytes any ciphertext has.</summary>
    public const int MaxAssociatedDataSize = 22 + 1 + MaxDeploymentNameBytes + MaxHeaderSize;

    public static int MaterialSize(CiphertextAlgorithm algorithm) => algorithm == CiphertextAlgorithm.DataKey ? SaltSize : PointSize;

    public static int Overhead(CiphertextAlgorithm algorithm) => FixedHeaderSize + MaterialSize(algorithm) + NonceSize + TagSize;

    public static void WriteHeader(Span<byte> header, CiphertextAlgorithm algorithm, PlaintextKind kind, DeploymentKeyId keyId, int keyVersion, ReadOnlySpan<byte> material)
    {
        header[0] = Version;
        header[1] = (byte)algorithm;
        header[2] = (byte)kind;
        keyId.Write(header[3..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[11..], (uint)keyVersion);
        material.CopyTo(header[FixedHeaderSize..]);
    }

    /// <summary>Reads and checks the header; the key id and version are the caller's to judge.</summary>
    /// <exception cref="CiphertextException">The bytes are too short, or a version, algorithm or kind is unknown.</exception>
    public static CiphertextHeader ReadHeader(ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < 3)
        {
            throw new CiphertextException(CiphertextFailure.Malformed, $"a ciphertext of {ciphertext.Length} bytes is too short to have a header");
        }

        if (ciphertext[0] != Version)
        {
            throw new CiphertextException(CiphertextFailure.UnsupportedVersion, $"ciphertext version {ciphertext[0]} is not supported (this build reads version {Version})");
        }

        var algorithm = (CiphertextAlgorithm)ciphertext[1];
        if (algorithm is not (CiphertextAlgorithm.DataKey or CiphertextAlgorithm.PublicKey))
        {
            throw new CiphertextException(CiphertextFailure.UnsupportedAlgorithm, $"ciphertext algorithm {ciphertext[1]} is not one of the format (1 data key, 2 public key)");
        }

        var kind = (PlaintextKind)ciphertext[2];
        if (kind > PlaintextKind.Boolean)
        {
            throw new CiphertextException(CiphertextFailure.UnsupportedKind, $"plaintext kind {ciphertext[2]} is not one of the format (0 bytes, 1 string, 2 number, 3 boolean)");
        }

        if (ciphertext.Length < Overhead(algorithm))
        {
            throw new CiphertextException(CiphertextFailure.Malformed, $"a ciphertext of {ciphertext.Length} bytes is truncated (algorithm {(byte)algorithm} needs at least {Overhead(algorithm)})");
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(ciphertext[11..]);
        if (version is 0 or > int.MaxValue)
        {
            throw new CiphertextException(CiphertextFailure.UnknownKeyVersion, $"key version {version} is out of range (versions start at 1)");
        }

        return new CiphertextHeader(algorithm, kind, DeploymentKeyId.Read(ciphertext[3..]), (int)version, FixedHeaderSize + MaterialSize(algorithm));
    }

    /// <summary>Writes the associated data of a ciphertext with <paramref name="header"/> for <paramref name="deployment"/>.</summary>
    /// <returns>Its length.</returns>
    public static int WriteAssociatedData(Span<byte> destination, ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> header)
    {
        AssociatedDataLabel.CopyTo(destination);
        var at = AssociatedDataLabel.Length;
        destination[at++] = (byte)deployment.Length;
        deployment.CopyTo(destination[at..]);
        at += deployment.Length;
        header.CopyTo(destination[at..]);
        return at + header.Length;
    }

    /// <summary>The deployment name as the associated data holds it.</summary>
    /// <exception cref="ArgumentException">It is empty or longer than 255 UTF-8 bytes.</exception>
    public static byte[] DeploymentBytes(string deployment)
    {
        ArgumentException.ThrowIfNullOrEmpty(deployment);
        var bytes = Encoding.UTF8.GetBytes(deployment);
        return bytes.Length <= MaxDeploymentNameBytes
            ? bytes
            : throw new ArgumentException($"a deployment name is at most {MaxDeploymentNameBytes} UTF-8 bytes", nameof(deployment));
    }
}

/// <summary>A ciphertext's header fields.</summary>
internal readonly record struct CiphertextHeader(CiphertextAlgorithm Algorithm, PlaintextKind Kind, DeploymentKeyId KeyId, int KeyVersion, int Length)
{
    public Range Material => CiphertextLayout.FixedHeaderSize..Length;
}

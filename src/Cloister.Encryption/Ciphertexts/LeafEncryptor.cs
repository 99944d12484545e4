using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Cloister.Encryption.Ciphertexts;

/// <summary>
/// Encrypts values under one derived key: made by <see cref="Keys.DeploymentKeyRing.CreateEncryptor"/> (a fresh salt
/// on the data key) or <see cref="Keys.DeploymentPublicKey.CreateEncryptor"/> (a fresh ephemeral P-384 key). Every value
/// gets its own nonce: a random start drawn with the encryptor, counted up per value. The key is the encryptor's alone,
/// so a counter is what keeps nonces unique under it (NIST SP 800-38D §8.2.1), and it spares each value a call to the
/// system's random generator, which costs more than the AES-GCM of a short value. Not thread-safe: one encryptor serves
/// one request or document.
/// </summary>
public sealed class LeafEncryptor : IDisposable
{
    private readonly AesGcm _aes;
    private readonly byte[] _header;
    private readonly byte[] _deployment;
    private readonly uint _noncePrefix;
    private ulong _nonceCounter;

    internal LeafEncryptor(Span<byte> key, byte[] header, byte[] deployment)
    {
        _aes = new AesGcm(key, CiphertextLayout.TagSize);
        CryptographicOperations.ZeroMemory(key);
        _header = header;
        _deployment = deployment;
        Span<byte> start = stackalloc byte[CiphertextLayout.NonceSize];
        RandomNumberGenerator.Fill(start);
        _noncePrefix = BinaryPrimitives.ReadUInt32BigEndian(start);
        _nonceCounter = BinaryPrimitives.ReadUInt64BigEndian(start[4..]);
    }

    /// <summary>The bytes a ciphertext adds to its plaintext.</summary>
    public int Overhead => _header.Length + CiphertextLayout.NonceSize + CiphertextLayout.TagSize;

    /// <summary>The length of the ciphertext of <paramref name="plaintextLength"/> bytes.</summary>
    public int GetCiphertextLength(int plaintextLength) => checked(plaintextLength + Overhead);

    /// <summary>The length of the text form (<c>cl:</c> and base64url) of <paramref name="plaintextLength"/> bytes.</summary>
    public int GetTextLength(int plaintextLength) => CiphertextLayout.TextPrefix.Length + Base64Url.GetEncodedLength(GetCiphertextLength(plaintextLength));

    /// <summary>Encrypts into <paramref name="destination"/>.</summary>
    /// <param name="plaintext">The value.</param>
    /// <param name="kind">What it is, so decryption gives back the same kind of value.</param>
    /// <param name="destination">At least <see cref="GetCiphertextLength"/> bytes.</param>
    /// <returns>The bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not one of the format's kinds (no reader would take the ciphertext).</exception>
    public int Encrypt(ReadOnlySpan<byte> plaintext, PlaintextKind kind, Span<byte> destination)
    {
        if (kind > PlaintextKind.Boolean)
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a plaintext kind is 0 to 3");
        }

        var length = GetCiphertextLength(plaintext.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the ciphertext is {length}", nameof(destination));
        }

        var header = destination[.._header.Length];
        _header.CopyTo(header);
        header[2] = (byte)kind;
        var nonce = destination.Slice(_header.Length, CiphertextLayout.NonceSize);
        // 2^64 values before the counter could come back to its start: far more than one encryptor ever makes.
        BinaryPrimitives.WriteUInt32BigEndian(nonce, _noncePrefix);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], _nonceCounter++);
        Span<byte> associatedData = stackalloc byte[CiphertextLayout.MaxAssociatedDataSize];
        associatedData = associatedData[..CiphertextLayout.WriteAssociatedData(associatedData, _deployment, header)];
        var body = destination[(_header.Length + CiphertextLayout.NonceSize)..length];
        _aes.Encrypt(nonce, plaintext, body[..plaintext.Length], body[plaintext.Length..], associatedData);
        return length;
    }

    /// <summary>Encrypts to a new array.</summary>
    /// <inheritdoc cref="Encrypt(ReadOnlySpan{byte}, PlaintextKind, Span{byte})"/>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, PlaintextKind kind)
    {
        var ciphertext = new byte[GetCiphertextLength(plaintext.Length)];
        Encrypt(plaintext, kind, ciphertext);
        return ciphertext;
    }

    /// <summary>Encrypts to the text form: <c>cl:</c> and the ciphertext in unpadded base64url, as UTF-8.</summary>
    /// <param name="plaintext">The value.</param>
    /// <param name="kind">What it is.</param>
    /// <param name="destination">At least <see cref="GetTextLength"/> bytes.</param>
    /// <returns>The bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not one of the format's kinds.</exception>
    public int EncryptToText(ReadOnlySpan<byte> plaintext, PlaintextKind kind, Span<byte> destination)
    {
        var textLength = GetTextLength(plaintext.Length);
        if (destination.Length < textLength)
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the text is {textLength}", nameof(destination));
        }

        var length = GetCiphertextLength(plaintext.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Encrypt(plaintext, kind, rented);
            CiphertextLayout.TextPrefix.CopyTo(destination);
            return CiphertextLayout.TextPrefix.Length + Base64Url.EncodeToUtf8(rented.AsSpan(0, length), destination[CiphertextLayout.TextPrefix.Length..]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Encrypts to the text form as a string.</summary>
    /// <inheritdoc cref="Encrypt(ReadOnlySpan{byte}, PlaintextKind)"/>
    public string EncryptToString(ReadOnlySpan<byte> plaintext, PlaintextKind kind) => "cl:" + Base64Url.EncodeToString(Encrypt(plaintext, kind));

    /// <summary>Erases the derived key.</summary>
    public void Dispose() => _aes.Dispose();
}

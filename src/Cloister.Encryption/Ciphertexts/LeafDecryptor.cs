using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Ciphertexts;

/// <summary>
/// Decrypts ciphertexts of either algorithm with a deployment's key ring (<see cref="DeploymentKeyRing.CreateDecryptor"/>).
/// Values of one document usually share a derived key, so the last one is kept; public-key derivations are also cached by
/// the ring. Not thread-safe: one decryptor serves one request or document.
/// </summary>
public sealed class LeafDecryptor : IDisposable
{
    private static readonly SearchValues<byte> Base64UrlAlphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"u8);

    private readonly DeploymentKeyRing _ring;
    private readonly byte[] _lastMaterial = new byte[CiphertextLayout.PointSize];
    private int _lastMaterialLength;
    private int _lastVersion;
    private AesGcm? _lastAes;

    internal LeafDecryptor(DeploymentKeyRing ring)
    {
        _ring = ring;
    }

    /// <summary>The most plaintext bytes a ciphertext of <paramref name="ciphertextLength"/> bytes can hold.</summary>
    public static int GetMaxPlaintextLength(int ciphertextLength) => Math.Max(0, ciphertextLength - CiphertextLayout.Overhead(CiphertextAlgorithm.DataKey));

    /// <summary>Decrypts into <paramref name="destination"/>.</summary>
    /// <param name="ciphertext">The ciphertext bytes.</param>
    /// <param name="destination">At least <see cref="GetMaxPlaintextLength"/> bytes.</param>
    /// <param name="kind">What the plaintext is.</param>
    /// <returns>The plaintext's length.</returns>
    /// <exception cref="CiphertextException">It cannot be decrypted here; <see cref="CiphertextException.Failure"/> says why.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public int Decrypt(ReadOnlySpan<byte> ciphertext, Span<byte> destination, out PlaintextKind kind)
    {
        var header = CiphertextLayout.ReadHeader(ciphertext);
        if (header.KeyId != _ring.KeyId)
        {
            throw new CiphertextException(
                CiphertextFailure.OtherDeployment,
                $"the ciphertext is for key id {header.KeyId}, not this deployment's ({_ring.KeyId}, deployment '{_ring.Deployment}')");
        }

        var length = ciphertext.Length - header.Length - CiphertextLayout.NonceSize - CiphertextLayout.TagSize;
        if (destination.Length < length)
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the plaintext is {length}", nameof(destination));
        }

        var aes = KeyFor(header, ciphertext[header.Material]);
        Span<byte> associatedData = stackalloc byte[CiphertextLayout.MaxAssociatedDataSize];
        associatedData = associatedData[..CiphertextLayout.WriteAssociatedData(associatedData, _ring.DeploymentBytes, ciphertext[..header.Length])];
        var nonce = ciphertext.Slice(header.Length, CiphertextLayout.NonceSize);
        var body = ciphertext[(header.Length + CiphertextLayout.NonceSize)..];
        try
        {
            aes.Decrypt(nonce, body[..^CiphertextLayout.TagSize], body[^CiphertextLayout.TagSize..], destination[..length], associatedData);
        }
        catch (CryptographicException ex)
        {
            CryptographicOperations.ZeroMemory(destination[..length]);
            throw new CiphertextException(
                CiphertextFailure.Tampered,
                $"the ciphertext (key version {header.KeyVersion}) fails authentication: it was changed, or made for another deployment name than '{_ring.Deployment}'",
                ex);
        }

        kind = header.Kind;
        return length;
    }

    /// <summary>Decrypts to a new array.</summary>
    /// <inheritdoc cref="Decrypt(ReadOnlySpan{byte}, Span{byte}, out PlaintextKind)"/>
    public byte[] Decrypt(ReadOnlySpan<byte> ciphertext, out PlaintextKind kind)
    {
        var plaintext = new byte[GetMaxPlaintextLength(ciphertext.Length)];
        return Exact(plaintext, Decrypt(ciphertext, plaintext, out kind));
    }

    /// <summary>Whether UTF-8 text begins like a ciphertext string (<c>cl:</c>).</summary>
    public static bool IsCiphertextText(ReadOnlySpan<byte> utf8Text) => utf8Text.StartsWith(CiphertextLayout.TextPrefix);

    /// <summary>Decrypts the text form (<c>cl:</c> and base64url) given as UTF-8.</summary>
    /// <param name="utf8Text">The text.</param>
    /// <param name="kind">What the plaintext is.</param>
    /// <returns>The plaintext.</returns>
    /// <exception cref="CiphertextException">It is not a ciphertext string, or cannot be decrypted here.</exception>
    public byte[] DecryptText(ReadOnlySpan<byte> utf8Text, out PlaintextKind kind)
    {
        var plaintext = new byte[GetMaxPlaintextLengthOfText(utf8Text.Length)];
        return Exact(plaintext, DecryptText(utf8Text, plaintext, out kind));
    }

    /// <summary>The most plaintext bytes a ciphertext string of <paramref name="utf8TextLength"/> bytes can hold.</summary>
    internal static int GetMaxPlaintextLengthOfText(int utf8TextLength) =>
        GetMaxPlaintextLength(Base64Url.GetMaxDecodedLength(Math.Max(0, utf8TextLength - CiphertextLayout.TextPrefix.Length)));

    /// <summary>Decrypts the text form into <paramref name="destination"/> (at least <see cref="GetMaxPlaintextLengthOfText"/> bytes).</summary>
    /// <exception cref="CiphertextException">It is not a ciphertext string, or cannot be decrypted here.</exception>
    internal int DecryptText(ReadOnlySpan<byte> utf8Text, Span<byte> destination, out PlaintextKind kind)
    {
        if (!IsCiphertextText(utf8Text))
        {
            throw new CiphertextException(CiphertextFailure.Malformed, "a ciphertext string begins with 'cl:'");
        }

        var encoded = utf8Text[CiphertextLayout.TextPrefix.Length..];
        var rented = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encoded.Length));
        try
        {
            // The decoder also takes padding and skips white space; the format's text is the bare alphabet, one
            // spelling per ciphertext.
            if (encoded.ContainsAnyExcept(Base64UrlAlphabet) || Base64Url.DecodeFromUtf8(encoded, rented, out _, out var written) != OperationStatus.Done)
            {
                throw new CiphertextException(CiphertextFailure.Malformed, "the ciphertext string is not valid unpadded base64url after 'cl:'");
            }

            return Decrypt(rented.AsSpan(0, written), destination, out kind);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decrypts the text form given as a string.</summary>
    /// <inheritdoc cref="DecryptText(ReadOnlySpan{byte}, out PlaintextKind)"/>
    public byte[] DecryptString(string text, out PlaintextKind kind)
    {
        ArgumentNullException.ThrowIfNull(text);
        return DecryptText(System.Text.Encoding.UTF8.GetBytes(text), out kind);
    }

    /// <summary>Releases the cached key.</summary>
    public void Dispose() => _lastAes?.Dispose();

    // The bound is a data-key ciphertext's (or, for text, base64's): a shorter plaintext is copied out, and the
    // oversized array erased rather than left to the GC.
    private static byte[] Exact(byte[] plaintext, int length)
    {
        if (length == plaintext.Length)
        {
            return plaintext;
        }

        var exact = plaintext[..length];
        CryptographicOperations.ZeroMemory(plaintext);
        return exact;
    }

    private AesGcm KeyFor(CiphertextHeader header, ReadOnlySpan<byte> material)
    {
        if (_lastAes is not null && _lastVersion == header.KeyVersion && material.SequenceEqual(_lastMaterial.AsSpan(0, _lastMaterialLength)))
        {
            return _lastAes;
        }

        Span<byte> key = stackalloc byte[CiphertextLayout.KeySize];
        _ring.DeriveKey(header, material, key);
        _lastAes?.Dispose();
        _lastAes = new AesGcm(key, CiphertextLayout.TagSize);
        CryptographicOperations.ZeroMemory(key);
        material.CopyTo(_lastMaterial);
        _lastMaterialLength = material.Length;
        _lastVersion = header.KeyVersion;
        return _lastAes;
    }
}

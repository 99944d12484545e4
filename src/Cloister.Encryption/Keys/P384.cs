using System.Security.Cryptography;

namespace Cloister.Encryption.Keys;

/// <summary>
/// The P-384 public keys Cloister's ECDH constructions exchange (deployment keys, provisioning envelopes): imported
/// only when they are exactly a P-384 key, and sent as uncompressed SEC 1 points.
/// </summary>
public static class P384
{
    /// <summary>The bytes of one coordinate.</summary>
    public const int CoordinateSize = 48;

    /// <summary>The bytes of an uncompressed point: 0x04, X, Y.</summary>
    public const int PointSize = 1 + (2 * CoordinateSize);

    internal const string Oid = "1.3.132.0.34";

    /// <summary>A P-384 public key from its DER SubjectPublicKeyInfo, which must be all of <paramref name="subjectPublicKeyInfo"/>.</summary>
    /// <param name="subjectPublicKeyInfo">The DER bytes.</param>
    /// <returns>The key; the caller disposes it.</returns>
    /// <exception cref="FormatException">The bytes are not a SubjectPublicKeyInfo, or not of a P-384 key.</exception>
    public static ECDiffieHellman ImportSubjectPublicKeyInfo(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            return read == subjectPublicKeyInfo.Length && IsP384(key)
                ? key
                : throw new FormatException("the public key is not a P-384 SubjectPublicKeyInfo");
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new FormatException("the public key does not parse as a SubjectPublicKeyInfo", ex);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>A P-384 public key from an uncompressed point, or <see langword="null"/> when the bytes are not one on the curve.</summary>
    /// <param name="point">Exactly <see cref="PointSize"/> bytes.</param>
    /// <returns>The key (the caller disposes it), or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="point"/> is not <see cref="PointSize"/> bytes.</exception>
    public static ECDiffieHellman? TryImportPoint(ReadOnlySpan<byte> point)
    {
        if (point.Length != PointSize)
        {
            throw new ArgumentException($"a point is {PointSize} bytes, not {point.Length}", nameof(point));
        }

        if (point[0] != 0x04)
        {
            return null;
        }

        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP384,
                Q = new ECPoint { X = point.Slice(1, CoordinateSize).ToArray(), Y = point.Slice(1 + CoordinateSize, CoordinateSize).ToArray() },
            });
            return key;
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return null;
        }
    }

    /// <summary>Writes a key's public point, uncompressed.</summary>
    /// <param name="key">A P-384 key.</param>
    /// <param name="point">At least <see cref="PointSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="point"/> is too short.</exception>
    public static void WritePoint(ECDiffieHellman key, Span<byte> point)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(point.Length, PointSize, nameof(point));
        var parameters = key.ExportParameters(includePrivateParameters: false);
        point[0] = 0x04;
        parameters.Q.X.CopyTo(point[1..]);
        parameters.Q.Y.CopyTo(point[(1 + CoordinateSize)..]);
    }

    internal static bool IsP384(ECDiffieHellman key) => key.ExportParameters(false).Curve.Oid.Value == Oid;
}

using System.Buffers;
using System.Security.Cryptography;

namespace Cloister.Build.Images;

/// <summary>
/// A content digest <c>algorithm:hex</c> as the OCI image spec defines it, restricted to the algorithms
/// that can be verified here: <c>sha256</c> (64 hex digits) and <c>sha512</c> (128).
/// </summary>
internal readonly record struct BlobDigest(string Algorithm, string Hex)
{
    private static readonly SearchValues<char> s_lowerHex = SearchValues.Create("0123456789abcdef");

    public override string ToString() => $"{Algorithm}:{Hex}";

    /// <summary>Parses a digest; <paramref name="field"/> names where it came from for the error.</summary>
    public static BlobDigest Parse(string? value, string field)
    {
        if (!TryParse(value, out var digest))
        {
            throw new ImageSourceException(
                ImageSourceError.Malformed,
                $"{field}: '{value}' is not a sha256 or sha512 digest (algorithm:lowercase-hex)");
        }

        return digest;
    }

    public static bool TryParse(string? value, out BlobDigest digest)
    {
        digest = default;
        var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon < 0)
        {
            return false;
        }

        var algorithm = value![..colon];
        var hex = value[(colon + 1)..];
        var length = algorithm switch
        {
            "sha256" => 64,
            "sha512" => 128,
            _ => -1,
        };
        if (hex.Length != length || hex.AsSpan().ContainsAnyExcept(s_lowerHex))
        {
            return false;
        }

        digest = new BlobDigest(algorithm, hex);
        return true;
    }

    public static BlobDigest Compute(ReadOnlySpan<byte> content) =>
        new("sha256", Convert.ToHexStringLower(SHA256.HashData(content)));

    public IncrementalHash CreateHash() =>
        IncrementalHash.CreateHash(Algorithm == "sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    /// <summary>The digest of what <paramref name="hash"/> has seen, in this digest's algorithm.</summary>
    public BlobDigest Finish(IncrementalHash hash) => new(Algorithm, Convert.ToHexStringLower(hash.GetHashAndReset()));

    /// <summary>The digest of <paramref name="content"/> in this digest's algorithm.</summary>
    public BlobDigest Recompute(ReadOnlySpan<byte> content)
    {
        using var hash = CreateHash();
        hash.AppendData(content);
        return Finish(hash);
    }
}

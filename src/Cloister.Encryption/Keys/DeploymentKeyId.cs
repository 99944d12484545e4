using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Cloister.Encryption.Keys;

/// <summary>
/// The random 64-bit id of a deployment's key ring, the same for all its versions. Every ciphertext carries it, so one
/// made for another deployment is refused as such (<see cref="Ciphertexts.CiphertextFailure.OtherDeployment"/>) before
/// any key is tried.
/// </summary>
/// <param name="Value">The id.</param>
public readonly record struct DeploymentKeyId(ulong Value)
{
    /// <summary>The bytes it takes in a ciphertext.</summary>
    public const int Size = 8;

    /// <summary>A new random id.</summary>
    public static DeploymentKeyId New()
    {
        Span<byte> bytes = stackalloc byte[Size];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    /// <summary>Reads 16 hex digits.</summary>
    /// <param name="text">The id as <see cref="ToString"/> writes it.</param>
    /// <exception cref="FormatException">It is not 16 hex digits.</exception>
    public static DeploymentKeyId Parse(string? text) =>
        text is { Length: 2 * Size } && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? new(value)
            : throw new FormatException($"a key id is 16 hex digits, not '{text}'");

    /// <summary>16 lowercase hex digits.</summary>
    public override string ToString() => Value.ToString("x16", CultureInfo.InvariantCulture);

    internal static DeploymentKeyId Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt64BigEndian(bytes));

    internal void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);
}

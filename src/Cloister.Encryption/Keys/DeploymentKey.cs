using System.Security.Cryptography;

namespace Cloister.Encryption.Keys;

/// <summary>
/// One version of a deployment's keys: a P-384 key pair (anyone encrypts to its public half) and a 256-bit data key
/// (what the enclave encrypts with). The private half and the data key exist only in the provisioner (sealed at rest)
/// and inside the deployment's attested enclaves.
/// </summary>
public sealed class DeploymentKey : IDisposable
{
    /// <summary>The bytes of a data key.</summary>
    public const int DataKeySize = 32;

    private readonly byte[] _dataKey;

    private DeploymentKey(int version, ECDiffieHellman agreement, byte[] dataKey)
    {
        Version = version;
        Agreement = agreement;
        _dataKey = dataKey;
        PublicKey = agreement.ExportSubjectPublicKeyInfo();
    }

    /// <summary>The version (1 for a deployment's first keys, one more for each rotation).</summary>
    public int Version { get; }

    /// <summary>The public half as a DER SubjectPublicKeyInfo.</summary>
    public byte[] PublicKey { get; }

    internal ECDiffieHellman Agreement { get; }

    internal ReadOnlySpan<byte> DataKey => _dataKey;

    /// <summary>New random keys.</summary>
    /// <param name="version">Their version.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1.</exception>
    public static DeploymentKey Generate(int version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        return new(version, ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384), RandomNumberGenerator.GetBytes(DataKeySize));
    }

    /// <summary>Keys exported earlier (<see cref="ExportPrivateKey"/>, <see cref="ExportDataKey"/>).</summary>
    /// <param name="version">Their version.</param>
    /// <param name="privateKey">The PKCS#8 P-384 private key.</param>
    /// <param name="dataKey">The 32-byte data key.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1.</exception>
    /// <exception cref="FormatException">The private key is not a P-384 PKCS#8 key, or the data key is not 32 bytes.</exception>
    public static DeploymentKey Import(int version, ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> dataKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        if (dataKey.Length != DataKeySize)
        {
            throw new FormatException($"key version {version}: the data key is {dataKey.Length} bytes, not {DataKeySize}");
        }

        var agreement = ECDiffieHellman.Create();
        try
        {
            agreement.ImportPkcs8PrivateKey(privateKey, out var read);
            if (read != privateKey.Length || !P384.IsP384(agreement))
            {
                throw new FormatException($"key version {version}: the private key is not a P-384 PKCS#8 key");
            }

            return new(version, agreement, dataKey.ToArray());
        }
        catch (CryptographicException ex)
        {
            agreement.Dispose();
            throw new FormatException($"key version {version}: the private key does not parse as PKCS#8", ex);
        }
        catch
        {
            agreement.Dispose();
            throw;
        }
    }

    /// <summary>The private half (PKCS#8 DER); the caller must keep it secret and erase it.</summary>
    public byte[] ExportPrivateKey() => Agreement.ExportPkcs8PrivateKey();

    /// <summary>A copy of the data key; the caller must keep it secret and erase it.</summary>
    public byte[] ExportDataKey() => (byte[])_dataKey.Clone();

    /// <summary>Erases the data key and releases the key pair.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_dataKey);
        Agreement.Dispose();
    }
}

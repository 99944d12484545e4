using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Provisioner.AtRest;

/// <summary>The associated data that binds each sealed value to its row, so a value copied into another row does not open.</summary>
public static class StorageBinding
{
    /// <summary><c>secret/&lt;deployment&gt;/&lt;name&gt;/&lt;version&gt;</c>.</summary>
    /// <param name="deployment">The deployment.</param>
    /// <param name="name">The secret's name.</param>
    /// <param name="version">Its version.</param>
    /// <returns>The associated data.</returns>
    public static string Secret(string deployment, string name, int version) =>
        string.Create(CultureInfo.InvariantCulture, $"secret/{deployment}/{name}/{version}");

    /// <summary><c>ca/&lt;deployment&gt;/&lt;SHA-256 of the certificate PEM&gt;</c>: a CA key opens only beside its certificate.</summary>
    /// <param name="deployment">The deployment.</param>
    /// <param name="certificatePem">The CA certificate (PEM) stored with the key.</param>
    /// <returns>The associated data.</returns>
    public static string CertificateAuthority(string deployment, string certificatePem) =>
        $"ca/{deployment}/{Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(certificatePem)))}";

    /// <summary>
    /// <c>key/&lt;deployment&gt;/&lt;key id&gt;/&lt;version&gt;/&lt;SHA-256 of the public key&gt;/private</c>: a key
    /// version's private key opens only beside its key id and public key, so a public key swapped in the database is
    /// caught (the provisioner opens this before it shows a public key).
    /// </summary>
    /// <param name="deployment">The deployment.</param>
    /// <param name="keyId">The ring's key id (16 hex digits).</param>
    /// <param name="version">The key version.</param>
    /// <param name="publicKey">The version's public key (DER SubjectPublicKeyInfo).</param>
    /// <returns>The associated data.</returns>
    public static string KeyPrivate(string deployment, string keyId, int version, ReadOnlySpan<byte> publicKey) => Key(deployment, keyId, version, publicKey, "private");

    /// <summary><c>key/&lt;deployment&gt;/&lt;key id&gt;/&lt;version&gt;/&lt;SHA-256 of the public key&gt;/data</c>: the version's data key.</summary>
    /// <inheritdoc cref="KeyPrivate"/>
    public static string KeyData(string deployment, string keyId, int version, ReadOnlySpan<byte> publicKey) => Key(deployment, keyId, version, publicKey, "data");

    private static string Key(string deployment, string keyId, int version, ReadOnlySpan<byte> publicKey, string part) =>
        string.Create(CultureInfo.InvariantCulture, $"key/{deployment}/{keyId}/{version}/{Convert.ToHexStringLower(SHA256.HashData(publicKey))}/{part}");
}

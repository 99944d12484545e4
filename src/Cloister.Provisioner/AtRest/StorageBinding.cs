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
}

using System.Security.Cryptography;
using Cloister.Encryption.Keys;
using Cloister.Runtime.Provisioning;

namespace Cloister.Enclave.Provisioning;

/// <summary>The answer's key ring as the crypto API holds it; the raw key bytes never outlive this step.</summary>
internal static class ProvisionedKeys
{
    /// <summary>
    /// Imports the answer's keys when the crypto API is on, and erases the raw key bytes either way: an enclave without
    /// <c>api.crypto</c> keeps no key at all.
    /// </summary>
    /// <param name="answer">The opened provisioning answer, already checked to be for this deployment.</param>
    /// <param name="crypto">The manifest's <c>api.crypto</c>.</param>
    /// <returns>The ring (the caller disposes it), or null when <paramref name="crypto"/> is off.</returns>
    /// <exception cref="ProvisioningRefusedException">The crypto API is on and the answer has no keys, or an unusable one.</exception>
    public static DeploymentKeyRing? Import(ProvisioningAnswer answer, bool crypto)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var provisioned = answer.Keys;
        try
        {
            if (!crypto)
            {
                return null;
            }

            if (provisioned.Versions.Count == 0)
            {
                throw new ProvisioningRefusedException("the provisioner's answer has no encryption keys, and api.crypto needs them");
            }

            return Ring(answer.Deployment, provisioned);
        }
        finally
        {
            foreach (var version in provisioned.Versions)
            {
                CryptographicOperations.ZeroMemory(version.PrivateKey);
                CryptographicOperations.ZeroMemory(version.DataKey);
            }
        }
    }

    private static DeploymentKeyRing Ring(string deployment, ProvisionedKeyRing provisioned)
    {
        var keys = new List<DeploymentKey>(provisioned.Versions.Count);
        try
        {
            var keyId = DeploymentKeyId.Parse(provisioned.KeyId);
            foreach (var version in provisioned.Versions)
            {
                if (version.Version < 1)
                {
                    throw new FormatException($"key version {version.Version} is below 1");
                }

                keys.Add(DeploymentKey.Import(version.Version, version.PrivateKey, version.DataKey));
            }

            return new DeploymentKeyRing(deployment, keyId, keys, provisioned.CurrentVersion);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            // The messages name versions and lengths, never key bytes; an ArgumentException's may run to a second line.
            keys.ForEach(key => key.Dispose());
            throw new ProvisioningRefusedException($"the provisioner's encryption keys are unusable: {ex.Message.Split('\n')[0]}");
        }
    }
}

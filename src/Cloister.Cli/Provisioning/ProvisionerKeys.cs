using System.Globalization;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;

namespace Cloister.Cli.Provisioning;

/// <summary>
/// The provisioner's answer about a deployment's keys (<see cref="DeploymentKeysView"/>), checked before anything is
/// printed, written or encrypted with it: the deployment asked for, every key a P-384 key whose fingerprint is the one
/// stated, and the current version listed once as the highest.
/// </summary>
internal static class ProvisionerKeys
{
    /// <summary>The answer's public keys, oldest first, the current one last.</summary>
    /// <exception cref="CommandFailedException">The answer is not a consistent view of <paramref name="deployment"/>'s keys.</exception>
    public static IReadOnlyList<DeploymentPublicKey> Check(DeploymentKeysView view, string deployment)
    {
        if (view.Deployment != deployment)
        {
            throw new CommandFailedException($"the provisioner answered the keys of deployment '{view.Deployment}', not '{deployment}'");
        }

        var keys = new List<DeploymentPublicKey>();
        foreach (var version in view.Versions.OrderBy(version => version.Version))
        {
            DeploymentPublicKey key;
            try
            {
                key = new DeploymentPublicKey(deployment, DeploymentKeyId.Parse(view.KeyId), version.Version, version.PublicKey);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                throw new CommandFailedException($"the provisioner's key version {version.Version} of '{deployment}': {ex.Message}", ExitCodes.Invalid, ex);
            }

            keys.Add(string.Equals(version.Fingerprint, key.Fingerprint, StringComparison.OrdinalIgnoreCase)
                ? key
                : throw new CommandFailedException(
                    $"the provisioner's key version {version.Version} of '{deployment}' has fingerprint {key.Fingerprint}, not the {version.Fingerprint} it states"));
        }

        return keys.Count(key => key.Version == view.CurrentVersion) == 1 && keys[^1].Version == view.CurrentVersion
            ? keys
            : throw new CommandFailedException(string.Create(
                CultureInfo.InvariantCulture, $"the provisioner's keys of '{deployment}' do not list their current version {view.CurrentVersion} once, as the highest"));
    }
}

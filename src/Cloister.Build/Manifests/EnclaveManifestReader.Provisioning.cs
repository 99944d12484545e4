using System.Text.RegularExpressions;
using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;

namespace Cloister.Build.Manifests;

// The manifest's 'provisioning': the provisioner the enclave fetches its CA, secrets and data keys from.
public sealed partial class EnclaveManifestReader
{
    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256HexRule();

    private ProvisioningSettings? ReadProvisioning(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["url", "pinned_sha256", "token_audience"]);
        if (fields is null)
        {
            return null;
        }

        var url = _yaml.Required(fields, node, path, "url", _yaml.String);
        Uri? uri = null;
        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out uri) || uri.Scheme != Uri.UriSchemeHttps))
        {
            _yaml.Error(fields["url"], $"{path}.url", $"'{url}' is not an absolute https:// URL");
            uri = null;
        }

        var pin = _yaml.Required(fields, node, path, "pinned_sha256", _yaml.String);
        if (pin is not null && !Sha256HexRule().IsMatch(pin))
        {
            _yaml.Error(fields["pinned_sha256"], $"{path}.pinned_sha256", "expected 64 hex digits: the SHA-256 of the provisioner's SubjectPublicKeyInfo");
            pin = null;
        }

        var audience = _yaml.Required(fields, node, path, "token_audience", _yaml.String);
        if (audience is { Length: 0 })
        {
            _yaml.Error(fields["token_audience"], $"{path}.token_audience", "cannot be empty");
        }

        return uri is null || pin is null || audience is null
            ? null
            : new ProvisioningSettings { Url = uri, PinnedSha256 = Convert.FromHexString(pin), TokenAudience = audience };
    }
}

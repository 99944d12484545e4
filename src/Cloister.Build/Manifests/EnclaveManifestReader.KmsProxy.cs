using System.Text.RegularExpressions;
using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'kms_proxy': the AWS KMS proxy inside the enclave.
public sealed partial class EnclaveManifestReader
{
    [GeneratedRegex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$")]
    private static partial Regex RegionRule();

    private KmsProxySettings? ReadKmsProxy(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["port", "region"]);
        if (fields is null)
        {
            return null;
        }

        var region = _yaml.Required(fields, node, path, "region", _yaml.String);
        if (region is not null && !RegionRule().IsMatch(region))
        {
            _yaml.Error(fields["region"], $"{path}.region", $"'{region}' is not an AWS region name such as us-east-1");
            region = null;
        }

        // PLACEHOLDER (contract commit): allow, keys, endpoint and ca_file are read by the manifest work.
        return region is null ? null : new KmsProxySettings { Port = Optional(fields, "port", _yaml.Port, path) ?? KmsProxySettings.DefaultPort, Region = region, Allow = [], Keys = [] };
    }
}

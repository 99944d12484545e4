using Cloister.Runtime.Egress;
using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'egress': where the app may connect through the in-enclave proxy.
public sealed partial class EnclaveManifestReader
{
    private EgressRules? ReadEgress(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["allow", "deny"]);
        if (fields is null)
        {
            return null;
        }

        return new EgressRules
        {
            Allow = Optional(fields, "allow", EgressRuleList, path) ?? [],
            Deny = Optional(fields, "deny", EgressRuleList, path) ?? [],
        };
    }

    private IReadOnlyList<string>? EgressRuleList(YamlNode node, string path)
    {
        var rules = _yaml.Strings(node, path);
        for (var i = 0; rules is not null && i < rules.Count; i++)
        {
            if (!EgressPattern.TryParse(rules[i], out _, out var error))
            {
                _yaml.Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", error);
            }
        }

        return rules;
    }
}

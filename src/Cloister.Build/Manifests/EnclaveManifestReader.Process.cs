using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'entrypoint', 'cmd' and 'env': how the app's process starts.
public sealed partial class EnclaveManifestReader
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNameRule();

    private IReadOnlyList<string>? CommandLine(YamlNode node, string path)
    {
        var args = _yaml.Strings(node, path, "a list of arguments (exec form), e.g. [\"python\", \"app.py\"]");
        for (var i = 0; args is not null && i < args.Count; i++)
        {
            if (args[i].AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
            {
                _yaml.Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", "an argument cannot contain a line break or NUL: the enclave's cmd file is one argument per line");
            }
        }

        return args;
    }

    private Dictionary<string, string>? ReadEnv(YamlNode node, string path)
    {
        if (node is not YamlMappingNode map)
        {
            _yaml.Error(node, path, $"expected a mapping of NAME: value, found {Describe(node)}");
            return null;
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = keyNode is YamlScalarNode { Value: { } k } ? k : null;
            if (key is null || !EnvNameRule().IsMatch(key))
            {
                _yaml.Error(keyNode, path, $"'{key}' is not a valid variable name (letters, digits and '_', not starting with a digit)");
                continue;
            }

            var itemPath = $"{path}.{key}";
            if (valueNode is not YamlScalarNode { Value: { } value } || IsNull(valueNode))
            {
                _yaml.Error(valueNode, itemPath, $"expected a string value, found {Describe(valueNode)}");
                continue;
            }

            if (value.AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
            {
                // init reads /env one variable per line: a newline would smuggle in a second variable.
                _yaml.Error(valueNode, itemPath, "a value cannot contain a line break or NUL: the enclave's env file is one variable per line");
                continue;
            }

            env[key] = value;
        }

        return env;
    }
}

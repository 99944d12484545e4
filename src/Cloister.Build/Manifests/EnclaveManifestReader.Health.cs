using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'health': the app's HTTP health check.
public sealed partial class EnclaveManifestReader
{
    private HealthCheck? ReadHealth(YamlNode node, string path, IReadOnlyList<IngressPort> ingress)
    {
        var fields = _yaml.Mapping(node, path, ["path", "port"]);
        if (fields is null)
        {
            return null;
        }

        var probe = _yaml.Required(fields, node, path, "path", _yaml.String);
        if (probe is not null && !probe.StartsWith('/'))
        {
            _yaml.Error(fields["path"], $"{path}.path", $"'{probe}' must start with '/'");
        }

        var port = Optional(fields, "port", _yaml.Port, path) ?? (ingress.Count > 0 ? ingress[0].AppPort : null);
        if (port is null && !fields.ContainsKey("port"))
        {
            _yaml.Error(node, path, "give 'port': there is no ingress port to default to");
        }

        return probe is null || port is null ? null : new HealthCheck { Path = probe, Port = port.Value };
    }
}

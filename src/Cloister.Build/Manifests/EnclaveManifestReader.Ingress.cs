using Cloister.Runtime.Dns;
using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'ingress': the ports the host exposes, and how each treats TLS.
public sealed partial class EnclaveManifestReader
{
    private static readonly Dictionary<string, IngressTls> s_tlsModes = new(StringComparer.Ordinal)
    {
        ["attested"] = IngressTls.Attested,
        ["passthrough"] = IngressTls.Passthrough,
    };

    private IReadOnlyList<IngressPort>? ReadIngress(YamlNode node, string path)
    {
        if (!_yaml.Sequence(node, path, out var items))
        {
            return null;
        }

        var ports = new List<IngressPort>();
        var seen = new HashSet<int>();
        for (var i = 0; i < items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            var fields = _yaml.Mapping(items[i], itemPath, ["port", "app_port", "tls", "hostnames"]);
            if (fields is null)
            {
                continue;
            }

            var port = _yaml.Required(fields, items[i], itemPath, "port", _yaml.Port);
            var appPort = Optional(fields, "app_port", _yaml.Port, itemPath) ?? port;
            var tls = Optional(fields, "tls", (n, p) => _yaml.Enum(n, p, s_tlsModes), itemPath) ?? IngressTls.Attested;
            var hostnames = Optional(fields, "hostnames", Hostnames, itemPath) ?? [];
            if (port is { } p && !seen.Add(p))
            {
                _yaml.Error(fields["port"], $"{itemPath}.port", $"port {p} is listed twice");
            }

            if (tls == IngressTls.Attested && hostnames.Count == 0 && !fields.ContainsKey("hostnames"))
            {
                _yaml.Error(items[i], itemPath, "an attested port needs 'hostnames': they lead the attested certificate's names");
            }
            else if (tls == IngressTls.Passthrough && fields.TryGetValue("hostnames", out var unused))
            {
                _yaml.Error(unused, $"{itemPath}.hostnames", "hostnames only apply to 'tls: attested'; a passthrough port never sees the TLS handshake");
            }

            if (port is not null && appPort is not null)
            {
                ports.Add(new IngressPort { Port = port.Value, AppPort = appPort.Value, Tls = tls, Hostnames = hostnames });
            }
        }

        return ports;
    }

    private IReadOnlyList<string>? Hostnames(YamlNode node, string path)
    {
        var names = _yaml.Strings(node, path);
        if (names is null)
        {
            return null;
        }

        if (names.Count == 0)
        {
            _yaml.Error(node, path, "list at least one hostname");
        }

        for (var i = 0; i < names.Count; i++)
        {
            if (!DnsName.IsValidHostname(names[i]))
            {
                _yaml.Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", $"'{names[i]}' is not a valid DNS hostname");
            }
        }

        return [.. names.Select(name => name.ToLowerInvariant())];
    }
}

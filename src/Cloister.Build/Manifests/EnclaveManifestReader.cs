using System.Globalization;
using System.Text.RegularExpressions;
using Cloister.Runtime.Dns;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Manifest;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cloister.Build.Manifests;

/// <summary>
/// Reads <c>enclave.yaml</c> into an <see cref="EnclaveManifest"/>. Every unknown key and bad value is reported with
/// its line and column, all of them at once; nothing is silently ignored or defaulted past an error.
/// </summary>
/// <remarks>The accepted keys, types and defaults are those of <c>docs/enclave.schema.json</c>.</remarks>
public static partial class EnclaveManifestReader
{
    /// <summary>Parses and validates a manifest.</summary>
    /// <param name="yaml">The manifest text.</param>
    /// <param name="source">The name errors are reported under, normally the file's path.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ManifestException">The manifest is not valid YAML or breaks a rule; every error is listed.</exception>
    public static EnclaveManifest Parse(string yaml, string source = "enclave.yaml")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        var reader = new Reader(source);
        var manifest = reader.Read(yaml);
        return reader.Errors.Count > 0 || manifest is null ? throw new ManifestException(reader.Errors) : manifest;
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NameRule();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNameRule();

    [GeneratedRegex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$")]
    private static partial Regex RegionRule();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256HexRule();

    private sealed class Reader(string source)
    {
        private static readonly string[] s_rootKeys =
            ["name", "image", "entrypoint", "cmd", "env", "resources", "ingress", "egress", "api", "provisioning", "kms_proxy", "health", "restart"];

        public List<ManifestError> Errors { get; } = [];

        public EnclaveManifest? Read(string yaml)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(yaml));
            }
            catch (YamlException ex)
            {
                Errors.Add(new ManifestError(source, (int)ex.Start.Line, (int)ex.Start.Column, "", $"not valid YAML: {Unwrap(ex).Message}"));
                return null;
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                // YamlDotNet throws these, with no position, on some broken flow collections (": [\n0") and on events
                // its node loader does not expect.
                Errors.Add(new ManifestError(source, 1, 1, "", $"not valid YAML: the YAML parser gave up ({ex.Message})"));
                return null;
            }

            if (stream.Documents.Count != 1)
            {
                Errors.Add(new ManifestError(source, 1, 1, "", stream.Documents.Count == 0
                    ? "the manifest is empty; it needs at least 'name' and 'image'"
                    : "the manifest must be a single YAML document"));
                return null;
            }

            var fields = Mapping(stream.Documents[0].RootNode, "", s_rootKeys);
            if (fields is null)
            {
                return null;
            }

            var name = Required(fields, stream.Documents[0].RootNode, "", "name", String);
            if (name is not null && !NameRule().IsMatch(name))
            {
                Error(fields["name"], "name", $"'{name}' is not a valid name: lowercase letters, digits and '-', 1–63 characters, starting and ending with a letter or digit");
            }

            var image = Required(fields, stream.Documents[0].RootNode, "", "image", String);
            if (image is not null && (image.Length == 0 || image.Any(char.IsWhiteSpace)))
            {
                Error(fields["image"], "image", "an image reference cannot be empty or contain white space");
            }

            var ingress = Optional(fields, "ingress", ReadIngress) ?? [];
            var provisioning = Optional(fields, "provisioning", ReadProvisioning);
            var api = Optional(fields, "api", ReadApi) ?? new LocalApiSettings();
            var kms = Optional(fields, "kms_proxy", ReadKmsProxy);
            var manifest = new EnclaveManifest
            {
                Name = name ?? "",
                Image = image ?? "",
                Entrypoint = Optional(fields, "entrypoint", CommandLine),
                Cmd = Optional(fields, "cmd", CommandLine),
                Env = Optional(fields, "env", ReadEnv) ?? new Dictionary<string, string>(),
                Resources = Optional(fields, "resources", ReadResources) ?? new EnclaveResources(),
                Ingress = ingress,
                Egress = Optional(fields, "egress", ReadEgress) ?? new EgressRules(),
                Api = api,
                Provisioning = provisioning,
                KmsProxy = kms,
                Health = Optional(fields, "health", (node, path) => ReadHealth(node, path, ingress)),
                Restart = Optional(fields, "restart", (node, path) => Enum(node, path, RestartPolicies)) ?? RestartPolicy.Never,
            };
            CheckCrossRules(manifest, fields);
            return Errors.Count == 0 ? manifest : null;
        }

        private static readonly Dictionary<string, RestartPolicy> RestartPolicies = new(StringComparer.Ordinal)
        {
            ["never"] = RestartPolicy.Never,
            ["on-failure"] = RestartPolicy.OnFailure,
            ["always"] = RestartPolicy.Always,
        };

        private static readonly Dictionary<string, IngressTls> TlsModes = new(StringComparer.Ordinal)
        {
            ["attested"] = IngressTls.Attested,
            ["passthrough"] = IngressTls.Passthrough,
        };

        private void CheckCrossRules(EnclaveManifest manifest, Dictionary<string, YamlNode> fields)
        {
            // Everything below listens on 127.0.0.1 inside the enclave, so two of them cannot share a port.
            var owners = new Dictionary<int, string>();
            void Claim(int port, string owner, string key)
            {
                if (owners.TryGetValue(port, out var other) && other != owner)
                {
                    Error(fields[key], key, $"port {port} is used by both {other} and {owner} inside the enclave");
                }
                else
                {
                    owners[port] = owner;
                }
            }

            Claim(EgressRules.ProxyPort, "the egress proxy", "egress");
            if (fields.ContainsKey("api"))
            {
                Claim(manifest.Api.Port, "the local API", "api");
            }
            else
            {
                owners.TryAdd(manifest.Api.Port, "the local API");
            }

            if (manifest.KmsProxy is { } kms)
            {
                Claim(kms.Port, "the KMS proxy", "kms_proxy");
            }

            foreach (var port in manifest.Ingress)
            {
                Claim(port.AppPort, "the app", "ingress");
            }

            if (manifest.Api.Crypto && manifest.Provisioning is null)
            {
                Error(fields["api"], "api.crypto", "the crypto API needs 'provisioning': its data keys come from the provisioner");
            }
        }

        private IReadOnlyList<IngressPort>? ReadIngress(YamlNode node, string path)
        {
            if (!Sequence(node, path, out var items))
            {
                return null;
            }

            var ports = new List<IngressPort>();
            var seen = new HashSet<int>();
            for (var i = 0; i < items.Count; i++)
            {
                var itemPath = $"{path}[{i}]";
                var fields = Mapping(items[i], itemPath, ["port", "app_port", "tls", "hostnames"]);
                if (fields is null)
                {
                    continue;
                }

                var port = Required(fields, items[i], itemPath, "port", Port);
                var appPort = Optional(fields, "app_port", Port, itemPath) ?? port;
                var tls = Optional(fields, "tls", (n, p) => Enum(n, p, TlsModes), itemPath) ?? IngressTls.Attested;
                var hostnames = Optional(fields, "hostnames", Hostnames, itemPath) ?? [];
                if (port is { } p && !seen.Add(p))
                {
                    Error(fields["port"], $"{itemPath}.port", $"port {p} is listed twice");
                }

                if (tls == IngressTls.Attested && hostnames.Count == 0 && !fields.ContainsKey("hostnames"))
                {
                    Error(items[i], itemPath, "an attested port needs 'hostnames': they lead the attested certificate's names");
                }
                else if (tls == IngressTls.Passthrough && fields.TryGetValue("hostnames", out var unused))
                {
                    Error(unused, $"{itemPath}.hostnames", "hostnames only apply to 'tls: attested'; a passthrough port never sees the TLS handshake");
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
            var names = Strings(node, path);
            if (names is null)
            {
                return null;
            }

            if (names.Count == 0)
            {
                Error(node, path, "list at least one hostname");
            }

            for (var i = 0; i < names.Count; i++)
            {
                if (!DnsName.IsValidHostname(names[i]))
                {
                    Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", $"'{names[i]}' is not a valid DNS hostname");
                }
            }

            return [.. names.Select(name => name.ToLowerInvariant())];
        }

        private EgressRules? ReadEgress(YamlNode node, string path)
        {
            var fields = Mapping(node, path, ["allow", "deny"]);
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
            var rules = Strings(node, path);
            for (var i = 0; rules is not null && i < rules.Count; i++)
            {
                if (!EgressPattern.TryParse(rules[i], out _, out var error))
                {
                    Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", error);
                }
            }

            return rules;
        }

        private EnclaveResources? ReadResources(YamlNode node, string path)
        {
            var fields = Mapping(node, path, ["cpus", "memory_mib"]);
            if (fields is null)
            {
                return null;
            }

            var cpus = Optional(fields, "cpus", (n, p) => Int(n, p, 1, 1024), path);
            var memory = Optional(fields, "memory_mib", (n, p) => Int(n, p, 64, 4 * 1024 * 1024), path);
            return new EnclaveResources { Cpus = cpus ?? EnclaveResources.DefaultCpus, MemoryMib = memory ?? EnclaveResources.DefaultMemoryMib };
        }

        private LocalApiSettings? ReadApi(YamlNode node, string path)
        {
            var fields = Mapping(node, path, ["port", "attestation", "crypto"]);
            if (fields is null)
            {
                return null;
            }

            return new LocalApiSettings
            {
                Port = Optional(fields, "port", Port, path) ?? LocalApiSettings.DefaultPort,
                Attestation = Optional(fields, "attestation", Bool, path) ?? true,
                Crypto = Optional(fields, "crypto", Bool, path) ?? false,
            };
        }

        private ProvisioningSettings? ReadProvisioning(YamlNode node, string path)
        {
            var fields = Mapping(node, path, ["url", "pinned_sha256", "token_audience"]);
            if (fields is null)
            {
                return null;
            }

            var url = Required(fields, node, path, "url", String);
            Uri? uri = null;
            if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out uri) || uri.Scheme != Uri.UriSchemeHttps))
            {
                Error(fields["url"], $"{path}.url", $"'{url}' is not an absolute https:// URL");
                uri = null;
            }

            var pin = Required(fields, node, path, "pinned_sha256", String);
            if (pin is not null && !Sha256HexRule().IsMatch(pin))
            {
                Error(fields["pinned_sha256"], $"{path}.pinned_sha256", "expected 64 hex digits: the SHA-256 of the provisioner's SubjectPublicKeyInfo");
                pin = null;
            }

            var audience = Required(fields, node, path, "token_audience", String);
            if (audience is { Length: 0 })
            {
                Error(fields["token_audience"], $"{path}.token_audience", "cannot be empty");
            }

            return uri is null || pin is null || audience is null
                ? null
                : new ProvisioningSettings { Url = uri, PinnedSha256 = Convert.FromHexString(pin), TokenAudience = audience };
        }

        private KmsProxySettings? ReadKmsProxy(YamlNode node, string path)
        {
            var fields = Mapping(node, path, ["port", "region"]);
            if (fields is null)
            {
                return null;
            }

            var region = Required(fields, node, path, "region", String);
            if (region is not null && !RegionRule().IsMatch(region))
            {
                Error(fields["region"], $"{path}.region", $"'{region}' is not an AWS region name such as us-east-1");
                region = null;
            }

            return region is null ? null : new KmsProxySettings { Port = Optional(fields, "port", Port, path) ?? KmsProxySettings.DefaultPort, Region = region };
        }

        private HealthCheck? ReadHealth(YamlNode node, string path, IReadOnlyList<IngressPort> ingress)
        {
            var fields = Mapping(node, path, ["path", "port"]);
            if (fields is null)
            {
                return null;
            }

            var probe = Required(fields, node, path, "path", String);
            if (probe is not null && !probe.StartsWith('/'))
            {
                Error(fields["path"], $"{path}.path", $"'{probe}' must start with '/'");
            }

            var port = Optional(fields, "port", Port, path) ?? (ingress.Count > 0 ? ingress[0].AppPort : null);
            if (port is null && !fields.ContainsKey("port"))
            {
                Error(node, path, "give 'port': there is no ingress port to default to");
            }

            return probe is null || port is null ? null : new HealthCheck { Path = probe, Port = port.Value };
        }

        private Dictionary<string, string>? ReadEnv(YamlNode node, string path)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, path, $"expected a mapping of NAME: value, found {Describe(node)}");
                return null;
            }

            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in map.Children)
            {
                var key = keyNode is YamlScalarNode { Value: { } k } ? k : null;
                if (key is null || !EnvNameRule().IsMatch(key))
                {
                    Error(keyNode, path, $"'{key}' is not a valid variable name (letters, digits and '_', not starting with a digit)");
                    continue;
                }

                var itemPath = $"{path}.{key}";
                if (valueNode is not YamlScalarNode { Value: { } value } || IsNull(valueNode))
                {
                    Error(valueNode, itemPath, $"expected a string value, found {Describe(valueNode)}");
                    continue;
                }

                if (value.AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
                {
                    // init reads /env one variable per line: a newline would smuggle in a second variable.
                    Error(valueNode, itemPath, "a value cannot contain a line break or NUL: the enclave's env file is one variable per line");
                    continue;
                }

                env[key] = value;
            }

            return env;
        }

        private IReadOnlyList<string>? CommandLine(YamlNode node, string path)
        {
            var args = Strings(node, path, "a list of arguments (exec form), e.g. [\"python\", \"app.py\"]");
            for (var i = 0; args is not null && i < args.Count; i++)
            {
                if (args[i].AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
                {
                    Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", "an argument cannot contain a line break or NUL: the enclave's cmd file is one argument per line");
                }
            }

            return args;
        }

        private Dictionary<string, YamlNode>? Mapping(YamlNode node, string path, string[] known)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, path, $"expected a mapping with keys {string.Join(", ", known)}; found {Describe(node)}");
                return null;
            }

            var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (keyNode, value) in map.Children)
            {
                var key = keyNode is YamlScalarNode { Value: { } k } ? k : null;
                var keyPath = path.Length == 0 ? key ?? "?" : $"{path}.{key}";
                if (key is null || Array.IndexOf(known, key) < 0)
                {
                    var hint = key is null ? null : Closest(key, known);
                    Error(keyNode, keyPath, $"unknown key '{key}'" + (hint is null ? $"; expected one of {string.Join(", ", known)}" : $"; did you mean '{hint}'?"));
                    continue;
                }

                fields[key] = value;
            }

            return fields;
        }

        private bool Sequence(YamlNode node, string path, out IList<YamlNode> items, string? expected = null)
        {
            if (node is YamlSequenceNode sequence)
            {
                items = sequence.Children;
                return true;
            }

            Error(node, path, $"expected {expected ?? "a list"}, found {Describe(node)}");
            items = [];
            return false;
        }

        private List<string>? Strings(YamlNode node, string path, string? expected = null)
        {
            if (!Sequence(node, path, out var items, expected ?? "a list of strings"))
            {
                return null;
            }

            var values = new List<string>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                if (String(items[i], $"{path}[{i}]") is { } value)
                {
                    values.Add(value);
                }
            }

            return values.Count == items.Count ? values : null;
        }

        private T? Required<T>(Dictionary<string, YamlNode> fields, YamlNode parent, string path, string key, Func<YamlNode, string, T?> read)
        {
            var keyPath = path.Length == 0 ? key : $"{path}.{key}";
            if (fields.TryGetValue(key, out var node))
            {
                return read(node, keyPath);
            }

            Error(parent, keyPath, $"'{key}' is required");
            return default;
        }

        private static T? Optional<T>(Dictionary<string, YamlNode> fields, string key, Func<YamlNode, string, T?> read, string path = "") =>
            fields.TryGetValue(key, out var node) ? read(node, path.Length == 0 ? key : $"{path}.{key}") : default;

        private string? String(YamlNode node, string path)
        {
            if (node is YamlScalarNode { Value: { } value } && !IsNull(node))
            {
                return value;
            }

            Error(node, path, $"expected a string, found {Describe(node)}");
            return null;
        }

        private int? Port(YamlNode node, string path) => Int(node, path, 1, 65535);

        private int? Int(YamlNode node, string path, int min, int max)
        {
            if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text }
                && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                if (value >= min && value <= max)
                {
                    return value;
                }

                Error(node, path, $"{value} is out of range ({min}–{max})");
                return null;
            }

            Error(node, path, $"expected a whole number from {min} to {max}, found {Describe(node)}");
            return null;
        }

        private bool? Bool(YamlNode node, string path)
        {
            if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } scalar)
            {
                return scalar.Value == "true";
            }

            Error(node, path, $"expected true or false, found {Describe(node)}");
            return null;
        }

        private T? Enum<T>(YamlNode node, string path, Dictionary<string, T> values)
            where T : struct, System.Enum
        {
            if (node is YamlScalarNode { Value: { } text } && values.TryGetValue(text, out var value))
            {
                return value;
            }

            Error(node, path, $"expected one of {string.Join(", ", values.Keys)}, found {Describe(node)}");
            return null;
        }

        private void Error(YamlNode node, string path, string message) =>
            Errors.Add(new ManifestError(source, (int)node.Start.Line, (int)node.Start.Column, path, message));

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" };

        private static string Describe(YamlNode node) => node switch
        {
            YamlMappingNode => "a mapping",
            YamlSequenceNode => "a list",
            _ when IsNull(node) => "nothing (null)",
            YamlScalarNode { Value: var value } => $"'{value}'",
            _ => node.NodeType.ToString(),
        };

        private static Exception Unwrap(YamlException ex) => ex.InnerException is YamlException inner ? Unwrap(inner) : ex;

        // A misspelt key is the commonest manifest mistake; the nearest known key (edit distance ≤ 2) is usually it.
        private static string? Closest(string key, string[] known)
        {
            string? best = null;
            var bestDistance = 3;
            foreach (var candidate in known)
            {
                var distance = EditDistance(key, candidate);
                if (distance < bestDistance)
                {
                    (best, bestDistance) = (candidate, distance);
                }
            }

            return best;
        }

        private static int EditDistance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                    current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), substitution);
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }
    }
}

using System.Text.RegularExpressions;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Manifest;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

/// <summary>
/// Reads <c>enclave.yaml</c> into an <see cref="EnclaveManifest"/>. Every unknown key and bad value is reported with
/// its line and column, all of them at once; nothing is silently ignored or defaulted past an error.
/// </summary>
/// <remarks>
/// The accepted keys, types and defaults are those of <c>docs/enclave.schema.json</c>. This file reads the document
/// and the rules that span sections; each section's rules are in the partial file named after it, and the YAML
/// primitives in <see cref="YamlNodeReader"/>.
/// </remarks>
public sealed partial class EnclaveManifestReader
{
    private static readonly string[] s_rootKeys =
        ["name", "image", "entrypoint", "cmd", "env", "resources", "ingress", "egress", "api", "provisioning", "kms_proxy", "health", "restart"];

    private static readonly Dictionary<string, RestartPolicy> s_restartPolicies = new(StringComparer.Ordinal)
    {
        ["never"] = RestartPolicy.Never,
        ["on-failure"] = RestartPolicy.OnFailure,
        ["always"] = RestartPolicy.Always,
    };

    private readonly YamlNodeReader _yaml;
    private readonly bool _refuseUnbuilt;

    private EnclaveManifestReader(string source, bool refuseUnbuilt)
    {
        _yaml = new YamlNodeReader(source);
        _refuseUnbuilt = refuseUnbuilt;
    }

    /// <summary>Parses and validates a manifest.</summary>
    /// <param name="yaml">The manifest text.</param>
    /// <param name="source">The name errors are reported under, normally the file's path.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ManifestException">The manifest is not valid YAML or breaks a rule; every error is listed.</exception>
    public static EnclaveManifest Parse(string yaml, string source = "enclave.yaml") => Read(yaml, source, refuseUnbuilt: false);

    /// <summary>
    /// Parses and validates a manifest to build it: as <see cref="Parse"/>, and each section this version reads but
    /// does not build yet (<see cref="UnbuiltSections"/>) is an error at its key.
    /// </summary>
    /// <param name="yaml">The manifest text.</param>
    /// <param name="source">The name errors are reported under, normally the file's path.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ManifestException">The manifest is not valid YAML, breaks a rule or sets a section not built yet; every error is listed.</exception>
    public static EnclaveManifest ParseBuildable(string yaml, string source = "enclave.yaml") => Read(yaml, source, refuseUnbuilt: true);

    private static EnclaveManifest Read(string yaml, string source, bool refuseUnbuilt)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        var reader = new EnclaveManifestReader(source, refuseUnbuilt);
        var manifest = reader.Read(yaml);
        return reader._yaml.Errors.Count > 0 || manifest is null ? throw new ManifestException(reader._yaml.Errors) : manifest;
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NameRule();

    private EnclaveManifest? Read(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new BoundedYamlParser(new Parser(new StringReader(yaml))));
        }
        catch (YamlLimitException ex)
        {
            _yaml.Error(ex.Start, "", ex.Message);
            return null;
        }
        catch (YamlException ex)
        {
            _yaml.Error(ex.Start, "", $"not valid YAML: {Unwrap(ex).Message}");
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these, with no position, on some broken flow collections (": [\n0") and on events
            // its node loader does not expect.
            _yaml.Error(Mark.Empty, "", $"not valid YAML: the YAML parser gave up ({ex.Message})");
            return null;
        }

        if (stream.Documents.Count != 1)
        {
            _yaml.Error(Mark.Empty, "", stream.Documents.Count == 0
                ? "the manifest is empty; it needs at least 'name' and 'image'"
                : "the manifest must be a single YAML document");
            return null;
        }

        var root = stream.Documents[0].RootNode;
        var fields = _yaml.Mapping(root, "", s_rootKeys);
        if (fields is null)
        {
            return null;
        }

        var name = _yaml.Required(fields, root, "", "name", _yaml.String);
        if (name is not null && !NameRule().IsMatch(name))
        {
            _yaml.Error(fields["name"], "name", $"'{name}' is not a valid name: lowercase letters, digits and '-', 1–63 characters, starting and ending with a letter or digit");
        }

        var image = _yaml.Required(fields, root, "", "image", _yaml.String);
        if (image is not null && (image.Length == 0 || image.Any(char.IsWhiteSpace)))
        {
            _yaml.Error(fields["image"], "image", "an image reference cannot be empty or contain white space");
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
            Restart = Optional(fields, "restart", (node, path) => _yaml.Enum(node, path, s_restartPolicies)) ?? RestartPolicy.Never,
        };
        CheckCrossRules(manifest, fields);
        if (_refuseUnbuilt)
        {
            foreach (var section in UnbuiltSections.In(manifest))
            {
                _yaml.Error(KeyNode(root, section.Key) ?? root, section.Key, section.Message);
            }
        }

        return _yaml.Errors.Count == 0 ? manifest : null;
    }

    private void CheckCrossRules(EnclaveManifest manifest, Dictionary<string, YamlNode> fields)
    {
        // Everything below listens on 127.0.0.1 inside the enclave, so two of them cannot share a port.
        var owners = new Dictionary<int, string>();
        void Claim(int port, string owner, string key)
        {
            if (owners.TryGetValue(port, out var other) && other != owner)
            {
                _yaml.Error(fields[key], key, $"port {port} is used by both {other} and {owner} inside the enclave");
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
            _yaml.Error(fields["api"], "api.crypto", "the crypto API needs 'provisioning': its data keys come from the provisioner");
        }
    }

    private static Exception Unwrap(YamlException ex) => ex.InnerException is YamlException inner ? Unwrap(inner) : ex;
}

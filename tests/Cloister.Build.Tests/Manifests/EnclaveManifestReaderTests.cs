using System.Text.Json;
using Cloister.Build.Manifests;
using Cloister.Runtime.Manifest;
using Cloister.Testing;
using YamlDotNet.RepresentationModel;

namespace Cloister.Build.Tests.Manifests;

public sealed class EnclaveManifestReaderTests
{
    // Uses every key the schema knows, so the drift tests below can compare the two.
    private const string Full = """
        name: payments
        image: registry.example.com/payments:1.4
        entrypoint: ["/bin/server"]
        cmd: ["--port", "8080"]
        env:
          LOG_LEVEL: info
          WORKERS: 4
        resources:
          cpus: 4
          memory_mib: 4096
        ingress:
          - port: 443
            app_port: 8080
            tls: attested
            hostnames: [pay.example.com, Pay2.example.com]
          - port: 8443
            tls: passthrough
        egress:
          allow: ["**.stripe.com:443", "10.0.0.0/8"]
          deny: ["internal.stripe.com"]
        api:
          port: 9999
          attestation: true
          crypto: true
        provisioning:
          url: https://provisioner.example.com
          pinned_sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          token_audience: payments-prod
        kms_proxy:
          port: 9100
          region: eu-west-1
          allow: [Decrypt, GenerateDataKey]
          keys: ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", alias/payments]
          endpoint: https://kms.eu-west-1.amazonaws.com
          ca_file: /etc/kms-roots.pem
        health:
          path: /healthz
          port: 8080
        restart: on-failure
        """;

    private static ManifestException Fails(string yaml) => Assert.Throws<ManifestException>(() => EnclaveManifestReader.Parse(yaml));

    [Fact]
    public void A_full_manifest_reads_every_field()
    {
        var m = EnclaveManifestReader.Parse(Full);

        Assert.Equal("payments", m.Name);
        Assert.Equal("registry.example.com/payments:1.4", m.Image);
        Assert.Equal(["/bin/server"], m.Entrypoint);
        Assert.Equal(["--port", "8080"], m.Cmd);
        Assert.Equal("4", m.Env["WORKERS"]);
        Assert.Equal((4, 4096), (m.Resources.Cpus, m.Resources.MemoryMib));
        Assert.Equal(2, m.Ingress.Count);
        Assert.Equal((443, 8080, IngressTls.Attested), (m.Ingress[0].Port, m.Ingress[0].AppPort, m.Ingress[0].Tls));
        Assert.Equal(["pay.example.com", "pay2.example.com"], m.Ingress[0].Hostnames);
        Assert.Equal((8443, 8443, IngressTls.Passthrough), (m.Ingress[1].Port, m.Ingress[1].AppPort, m.Ingress[1].Tls));
        Assert.Equal(["**.stripe.com:443", "10.0.0.0/8"], m.Egress.Allow);
        Assert.Equal(["internal.stripe.com"], m.Egress.Deny);
        Assert.True(m.Api.Crypto);
        Assert.Equal(new Uri("https://provisioner.example.com"), m.Provisioning!.Url);
        Assert.Equal(32, m.Provisioning.PinnedSha256.Length);
        Assert.Equal(("eu-west-1", 9100), (m.KmsProxy!.Region, m.KmsProxy.Port));
        Assert.Equal(["Decrypt", "GenerateDataKey"], m.KmsProxy.Allow);
        Assert.Equal(["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "alias/payments"], m.KmsProxy.Keys);
        Assert.Equal(("https://kms.eu-west-1.amazonaws.com", "/etc/kms-roots.pem"), (m.KmsProxy.Endpoint, m.KmsProxy.CaFile));
        Assert.Equal(("/healthz", 8080), (m.Health!.Path, m.Health.Port));
        Assert.Equal(RestartPolicy.OnFailure, m.Restart);
    }

    [Fact]
    public void A_minimal_manifest_gets_the_documented_defaults()
    {
        var m = EnclaveManifestReader.Parse("name: app\nimage: oci-layout:./image\n");

        Assert.Null(m.Entrypoint);
        Assert.Null(m.Cmd);
        Assert.Empty(m.Env);
        Assert.Equal((2, 2048), (m.Resources.Cpus, m.Resources.MemoryMib));
        Assert.Empty(m.Ingress);
        Assert.Empty(m.Egress.Allow);
        Assert.Equal((9999, true, false), (m.Api.Port, m.Api.Attestation, m.Api.Crypto));
        Assert.Null(m.Provisioning);
        Assert.Equal(RestartPolicy.Never, m.Restart);
    }

    [Fact]
    public void Unknown_keys_are_reported_with_line_column_and_a_suggestion()
    {
        var ex = Fails("name: app\nimage: x\ningres:\n  - port: 443\nresources:\n  cpu: 2\n");

        Assert.Collection(
            ex.Errors,
            e => Assert.Equal((3, 1, "ingres", true), (e.Line, e.Column, e.Path, e.Message.Contains("did you mean 'ingress'?", StringComparison.Ordinal))),
            e => Assert.Equal((6, 3, "resources.cpu", true), (e.Line, e.Column, e.Path, e.Message.Contains("did you mean 'cpus'?", StringComparison.Ordinal))));
        Assert.StartsWith("enclave.yaml:3:1: ingres: unknown key 'ingres'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        var ex = Fails("name: Bad_Name\nimage: x\nresources:\n  cpus: zero\n  memory_mib: 10\nrestart: sometimes\n");

        Assert.Equal(["name", "resources.cpus", "resources.memory_mib", "restart"], ex.Errors.Select(e => e.Path));
        Assert.Equal([1, 4, 5, 6], ex.Errors.Select(e => e.Line));
    }

    [Theory]
    [InlineData("image: x\n", "name", "'name' is required")]
    [InlineData("name: app\n", "image", "'image' is required")]
    [InlineData("name: app\nimage: x\ncmd: python app.py\n", "cmd", "exec form")]
    [InlineData("name: app\nimage: x\ncmd: [\"a\\nb\"]\n", "cmd[0]", "line break")]
    [InlineData("name: app\nimage: x\nenv: {9X: a}\n", "env", "not a valid variable name")]
    [InlineData("name: app\nimage: x\nenv: {X: \"a\\nY=b\"}\n", "env.X", "line break")]
    [InlineData("name: app\nimage: x\nenv: {X: ~}\n", "env.X", "expected a string")]
    [InlineData("name: app\nimage: x\ningress: [{port: 70000, hostnames: [a]}]\n", "ingress[0].port", "out of range")]
    [InlineData("name: app\nimage: x\ningress: [{port: \"443\", hostnames: [a]}]\n", "ingress[0].port", "whole number")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443}]\n", "ingress[0]", "needs 'hostnames'")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443, tls: passthrough, hostnames: [a]}]\n", "ingress[0].hostnames", "only apply")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443, tls: mutual, hostnames: [a]}]\n", "ingress[0].tls", "attested, passthrough")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443, hostnames: [\"bad host\"]}]\n", "ingress[0].hostnames[0]", "not a valid DNS hostname")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443, hostnames: [a]}, {port: 443, hostnames: [b]}]\n", "ingress[1].port", "listed twice")]
    [InlineData("name: app\nimage: x\negress: {allow: [\"api*.x.com\"]}\n", "egress.allow[0]", "stand alone")]
    [InlineData("name: app\nimage: x\nprovisioning: {url: http://p, pinned_sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef, token_audience: t}\n", "provisioning.url", "https")]
    [InlineData("name: app\nimage: x\nprovisioning: {url: https://p, pinned_sha256: ab, token_audience: t}\n", "provisioning.pinned_sha256", "64 hex")]
    [InlineData("name: app\nimage: x\nkms_proxy: {region: mars, allow: [Decrypt], keys: [alias/a]}\n", "kms_proxy.region", "AWS region")]
    [InlineData("name: app\nimage: x\nhealth: {path: healthz, port: 80}\n", "health.path", "start with '/'")]
    [InlineData("name: app\nimage: x\nhealth: {path: /h}\n", "health", "no ingress port")]
    [InlineData("name: app\nimage: x\napi: {crypto: true}\n", "api.crypto", "needs 'provisioning'")]
    [InlineData("name: app\nimage: x\napi: {attestation: yes}\n", "api.attestation", "true or false")]
    [InlineData("name: app\nimage: x\napi: {port: 8080}\ningress: [{port: 443, app_port: 8080, hostnames: [a]}]\n", "ingress", "port 8080 is used by both")]
    [InlineData("name: app\nimage: x\ningress: [{port: 443, app_port: 3128, hostnames: [a]}]\n", "ingress", "egress proxy")]
    public void Bad_values_name_the_key_and_the_rule(string yaml, string path, string message)
    {
        var error = Assert.Single(Fails(yaml).Errors);

        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("- a\n- b\n")]
    [InlineData("name: app\nimage: x\n---\nname: b\n")]
    [InlineData("name: [unclosed\n")]
    [InlineData("name: a\nname: b\nimage: x\n")]
    [InlineData("\t- bad indentation")]
    public void Documents_that_are_not_one_mapping_are_refused(string yaml) => Assert.NotEmpty(Fails(yaml).Errors);

    [Theory]
    [InlineData(": [\n0")]
    [InlineData("a:\n  : 0\n")]
    public void Yaml_that_stops_the_parser_without_a_yaml_error_is_invalid_yaml(string yaml)
    {
        // Found by fuzz/ (enclave-manifest), minimized with afl-tmin (and the second by hand): YamlDotNet threw
        // InvalidOperationException and ArgumentException, which escaped the reader.
        var error = Assert.Single(Fails(yaml).Errors);

        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_starter_manifest_from_init_is_valid()
    {
        var m = EnclaveManifestReader.Parse(EnclaveManifestTemplate.Render("hello", "oci-layout:./image:latest"));

        Assert.Equal("hello", m.Name);
        Assert.Equal(443, Assert.Single(m.Ingress).Port);
    }

    [Fact]
    public void Every_key_the_schema_defines_is_read_and_every_key_read_is_in_the_schema()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "enclave.schema.json")));
        var schemaPaths = new SortedSet<string>(StringComparer.Ordinal);
        CollectSchemaPaths(schema.RootElement, schema.RootElement, "", schemaPaths);

        var yaml = new YamlStream();
        yaml.Load(new StringReader(Full));
        var manifestPaths = new SortedSet<string>(StringComparer.Ordinal);
        CollectYamlPaths(yaml.Documents[0].RootNode, "", manifestPaths);

        Assert.Equal(schemaPaths, manifestPaths);
    }

    [Fact]
    public void Every_schema_object_refuses_unknown_keys()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "enclave.schema.json")));
        var open = new List<string>();
        FindOpenObjects(schema.RootElement, "$", open);

        Assert.Empty(open);
    }

    private static void CollectSchemaPaths(JsonElement root, JsonElement node, string path, ISet<string> paths)
    {
        if (node.TryGetProperty("$ref", out var reference))
        {
            node = root.GetProperty("$defs").GetProperty(reference.GetString()!["#/$defs/".Length..]);
        }

        if (node.TryGetProperty("properties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                var child = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                paths.Add(child);
                CollectSchemaPaths(root, property.Value, child, paths);
            }
        }

        if (node.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object)
        {
            CollectSchemaPaths(root, items, path + "[]", paths);
        }
    }

    private static void CollectYamlPaths(YamlNode node, string path, ISet<string> paths)
    {
        switch (node)
        {
            // env's keys are the user's variables, not the schema's.
            case YamlMappingNode map when path != "env":
                foreach (var (key, value) in map.Children)
                {
                    var child = path.Length == 0 ? ((YamlScalarNode)key).Value! : $"{path}.{((YamlScalarNode)key).Value}";
                    paths.Add(child);
                    CollectYamlPaths(value, child, paths);
                }

                break;
            case YamlSequenceNode sequence:
                foreach (var item in sequence.Children)
                {
                    CollectYamlPaths(item, path + "[]", paths);
                }

                break;
        }
    }

    private static void FindOpenObjects(JsonElement node, string path, List<string> open)
    {
        if (node.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (node.TryGetProperty("properties", out _)
            && (!node.TryGetProperty("additionalProperties", out var additional) || additional.ValueKind != JsonValueKind.False))
        {
            open.Add(path);
        }

        foreach (var property in node.EnumerateObject())
        {
            FindOpenObjects(property.Value, $"{path}.{property.Name}", open);
        }
    }
}

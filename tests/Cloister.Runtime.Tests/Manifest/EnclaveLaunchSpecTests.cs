using System.Text;
using Cloister.Runtime.Manifest;

namespace Cloister.Runtime.Tests.Manifest;

public sealed class EnclaveLaunchSpecTests
{
    private static EnclaveLaunchSpec Spec(
        IReadOnlyList<string>? entrypoint = null,
        IReadOnlyList<string>? cmd = null,
        ImageRunConfig? image = null,
        IReadOnlyDictionary<string, string>? env = null) => new()
        {
            Manifest = new EnclaveManifest
            {
                Name = "app",
                Image = "oci-layout:./image",
                Entrypoint = entrypoint,
                Cmd = cmd,
                Env = env ?? new Dictionary<string, string>(),
            },
            Image = image ?? new ImageRunConfig { Entrypoint = ["/docker-entrypoint.sh"], Cmd = ["nginx", "-g", "daemon off;"] },
        };

    [Fact]
    public void Without_overrides_the_image_entrypoint_and_cmd_run() =>
        Assert.Equal(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"], Spec().ResolveArguments());

    [Fact]
    public void A_manifest_cmd_replaces_only_the_image_cmd() =>
        Assert.Equal(["/docker-entrypoint.sh", "sh"], Spec(cmd: ["sh"]).ResolveArguments());

    [Fact]
    public void A_manifest_entrypoint_drops_the_image_cmd_as_docker_does() =>
        Assert.Equal(["/bin/app"], Spec(entrypoint: ["/bin/app"]).ResolveArguments());

    [Fact]
    public void Both_overrides_replace_both() =>
        Assert.Equal(["/bin/app", "--x"], Spec(entrypoint: ["/bin/app"], cmd: ["--x"]).ResolveArguments());

    [Fact]
    public void Nothing_to_run_is_an_error()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Spec(image: new ImageRunConfig()).ResolveArguments());
        Assert.Contains("nothing to run", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_env_replaces_image_values_in_place_and_appends_new_ones()
    {
        var spec = Spec(
            image: new ImageRunConfig { Cmd = ["x"], Env = ["PATH=/usr/bin", "LANG=C", "EMPTY", "A=b=c"] },
            env: new Dictionary<string, string> { ["LANG"] = "C.UTF-8", ["NEW"] = "1" });

        Assert.Equal(["PATH=/usr/bin", "LANG=C.UTF-8", "EMPTY=", "A=b=c", "NEW=1"], spec.ResolveEnvironment());
    }

    [Fact]
    public void Json_round_trips_with_snake_case_keys_and_string_enums()
    {
        var spec = new EnclaveLaunchSpec
        {
            Manifest = new EnclaveManifest
            {
                Name = "app",
                Image = "img",
                Ingress = [new IngressPort { Port = 443, AppPort = 8080, Hostnames = ["a.example"] }],
                Provisioning = new ProvisioningSettings { Url = new Uri("https://p.example"), PinnedSha256 = new byte[32], TokenAudience = "aud" },
                Restart = RestartPolicy.OnFailure,
            },
            Image = new ImageRunConfig { Cmd = ["/app"], WorkingDir = "/srv", User = "1000:1000" },
        };

        var json = EnclaveLaunchSpecJson.Serialize(spec);
        var text = Encoding.UTF8.GetString(json);
        var back = EnclaveLaunchSpecJson.Deserialize(json);

        Assert.Contains("\"app_port\": 8080", text, StringComparison.Ordinal);
        Assert.Contains("\"restart\": \"on-failure\"", text, StringComparison.Ordinal);
        Assert.Contains("\"tls\": \"attested\"", text, StringComparison.Ordinal);
        Assert.Equal(json, EnclaveLaunchSpecJson.Serialize(back));
        Assert.Equal("1000:1000", back.Image.User);
        Assert.Equal(8080, back.Manifest.Ingress[0].AppPort);
    }

    [Fact]
    public void Json_round_trips_the_kms_proxy()
    {
        var spec = new EnclaveLaunchSpec
        {
            Manifest = new EnclaveManifest
            {
                Name = "app",
                Image = "img",
                KmsProxy = new KmsProxySettings
                {
                    Port = 9100,
                    Region = "eu-west-1",
                    Allow = ["Decrypt", "GenerateDataKey"],
                    Keys = ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "alias/payments"],
                    Endpoint = "https://kms.example.com:8443",
                    CaFile = "/etc/kms-roots.pem",
                },
            },
            Image = new ImageRunConfig { Cmd = ["/app"] },
        };

        var json = EnclaveLaunchSpecJson.Serialize(spec);
        var text = Encoding.UTF8.GetString(json);
        var kms = EnclaveLaunchSpecJson.Deserialize(json).Manifest.KmsProxy!;

        Assert.Contains("\"ca_file\": \"/etc/kms-roots.pem\"", text, StringComparison.Ordinal);
        Assert.Equal((9100, "eu-west-1", "https://kms.example.com:8443", "/etc/kms-roots.pem"), (kms.Port, kms.Region, kms.Endpoint, kms.CaFile));
        Assert.Equal(["Decrypt", "GenerateDataKey"], kms.Allow);
        Assert.Equal(spec.Manifest.KmsProxy.Keys, kms.Keys);
        Assert.Equal(json, EnclaveLaunchSpecJson.Serialize(EnclaveLaunchSpecJson.Deserialize(json)));
    }

    [Fact]
    public void A_kms_proxy_without_its_key_list_is_refused()
    {
        const string json = """{"version":1,"manifest":{"name":"a","image":"i","kms_proxy":{"region":"us-east-1","allow":["Decrypt"]}},"image":{}}""";

        var ex = Assert.Throws<FormatException>(() => EnclaveLaunchSpecJson.Deserialize(Encoding.UTF8.GetBytes(json)));

        Assert.Contains("keys", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"version":1,"manifest":{"name":"a","image":"i"},"image":{},"surprise":1}""", "surprise")]
    [InlineData("""{"version":2,"manifest":{"name":"a","image":"i"},"image":{}}""", "version 2")]
    [InlineData("""{"version":1,"image":{}}""", "manifest")]
    [InlineData("""{"version":1,"manifest":{"name":"a","image":"i"},"image":{},""", "enclave.json")]
    [InlineData("null", "null")]
    public void Malformed_specs_are_refused_with_a_reason(string json, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => EnclaveLaunchSpecJson.Deserialize(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }
}

using System.Text;
using Cloister.Build.Manifests;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The enclave.yaml reader: YAML, then every key and value rule of docs/enclave.schema.json.</summary>
internal sealed class EnclaveManifestTarget : FuzzTarget
{
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
          allow: ["**.stripe.com:443", "10.0.0.0/8", "[2001:db8::1]:443"]
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
        health:
          path: /healthz
          port: 8080
        restart: on-failure
        """;

    public override string Name => "enclave-manifest";

    public override string Summary => "EnclaveManifestReader.Parse (YAML + schema rules)";

    public override void Run(byte[] input)
    {
        try
        {
            _ = EnclaveManifestReader.Parse(Encoding.UTF8.GetString(input));
        }
        catch (ManifestException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        sources.FileSeed("samples/hello/enclave.yaml"),
        new("full.yaml", Encoding.UTF8.GetBytes(Full)),
        new("template.yaml", Encoding.UTF8.GetBytes(EnclaveManifestTemplate.Render("app", "oci-layout:./image:latest"))),
        new("anchors.yaml", Encoding.UTF8.GetBytes("name: &n app\nimage: *n\nenv: {A: 1, B: '2'}\ningress: []\n--- \n")),
    ];
}

using System.Text;
using Cloister.Build.Manifests;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The enclave.yaml reader: YAML, then every key and value rule of docs/enclave.schema.json.</summary>
/// <remarks>The corpus also holds <c>full.yaml</c>, every key of the schema, copied from EnclaveManifestReaderTests.</remarks>
internal sealed class EnclaveManifestTarget : FuzzTarget
{
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
        new("template.yaml", Encoding.UTF8.GetBytes(EnclaveManifestTemplate.Render("app", "oci-layout:./image:latest"))),
        new("anchors.yaml", Encoding.UTF8.GetBytes("name: &n app\nimage: *n\nenv: {A: 1, B: '2'}\ningress: []\n--- \n")),
    ];
}

using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'api': the local API on 127.0.0.1 inside the enclave.
public sealed partial class EnclaveManifestReader
{
    private LocalApiSettings? ReadApi(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["port", "attestation", "crypto"]);
        if (fields is null)
        {
            return null;
        }

        return new LocalApiSettings
        {
            Port = Optional(fields, "port", _yaml.Port, path) ?? LocalApiSettings.DefaultPort,
            Attestation = Optional(fields, "attestation", _yaml.Bool, path) ?? true,
            Crypto = Optional(fields, "crypto", _yaml.Bool, path) ?? false,
        };
    }
}

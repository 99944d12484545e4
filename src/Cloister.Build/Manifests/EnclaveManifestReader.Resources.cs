using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'resources': the enclave's CPUs and memory.
public sealed partial class EnclaveManifestReader
{
    private EnclaveResources? ReadResources(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["cpus", "memory_mib"]);
        if (fields is null)
        {
            return null;
        }

        var cpus = Optional(fields, "cpus", (n, p) => _yaml.Int(n, p, 1, 1024), path);
        var memory = Optional(fields, "memory_mib", (n, p) => _yaml.Int(n, p, 64, 4 * 1024 * 1024), path);
        return new EnclaveResources { Cpus = cpus ?? EnclaveResources.DefaultCpus, MemoryMib = memory ?? EnclaveResources.DefaultMemoryMib };
    }
}

using System.Text.Json;
using Cloister.Build.Eif;
using Cloister.Build.Enclaves;

namespace Cloister.Host.Nitro;

/// <summary>Recognizes images built without Nitro blobs (<c>cloister build</c> with no kernel), which Nitro hardware cannot boot.</summary>
public static class SimulationOnlyImage
{
    /// <summary>Says why an image is simulation-only, or returns <see langword="null"/> when it may be bootable.</summary>
    /// <param name="image">The open image.</param>
    /// <returns>The first of: an empty kernel section, the simulation-only kernel command line, or the metadata flag.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="EifFormatException">The metadata is malformed.</exception>
    /// <exception cref="IOException">Reading failed.</exception>
    public static string? FindReason(EifReader image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Sections.FirstOrDefault(s => s.Type == EifSectionType.Kernel) is not { Size: > 0 })
        {
            return "its kernel section is empty (built without Nitro blobs)";
        }

        if (image.Sections.FirstOrDefault(s => s.Type == EifSectionType.Cmdline) is { Size: > 0 } cmdlineSection)
        {
            using var reader = new StreamReader(image.OpenSection(cmdlineSection));
            if (reader.ReadToEnd().Split([' ', '\n', '\0'], StringSplitOptions.RemoveEmptyEntries).Contains(EnclaveImageBuilder.SimulationOnlyCmdline))
            {
                return $"its kernel command line has {EnclaveImageBuilder.SimulationOnlyCmdline}";
            }
        }

        return image.ReadMetadata()?.CustomMetadata is { ValueKind: JsonValueKind.Object } custom
            && custom.TryGetProperty("cloister", out var cloister) && cloister.ValueKind == JsonValueKind.Object
            && cloister.TryGetProperty("simulation_only", out var flag) && flag.ValueKind == JsonValueKind.True
            ? "its metadata says CustomMetadata.cloister.simulation_only"
            : null;
    }
}

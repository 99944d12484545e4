using Cloister.Build.Eif;

namespace Cloister.Build.Enclaves;

/// <summary>What a build produced.</summary>
/// <param name="ImagePath">The EIF.</param>
/// <param name="MeasurementsPath">The <c>measurements.json</c> beside it.</param>
/// <param name="Measurements">PCR0/1/2 (and PCR8 when signed).</param>
/// <param name="SimulationOnly">Whether the image has no kernel (built without blobs) and can only run in the simulator.</param>
/// <param name="ImageDigest">The container image's config digest, the identity nitro-cli records as ImageVersion.</param>
/// <param name="MeasurementsJson">The text of <c>measurements.json</c> (<see cref="EnclaveMeasurementsJson"/>), without its final newline.</param>
public sealed record EnclaveBuildResult(string ImagePath, string MeasurementsPath, EifMeasurements Measurements, bool SimulationOnly, string ImageDigest, string MeasurementsJson);

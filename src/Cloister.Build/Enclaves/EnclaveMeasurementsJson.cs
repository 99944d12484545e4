using Cloister.Build.Eif;
using Cloister.Build.Json;
using Cloister.Build.RuntimeBundles;

namespace Cloister.Build.Enclaves;

/// <summary>
/// <c>measurements.json</c> as <c>cloister build</c> writes and prints it: nitro-cli's <c>{"Measurements": {…}}</c>, then,
/// for an image with Cloister's runtime, <c>"CloisterRuntime": {"Digest", "Version"}</c>, the runtime it measured.
/// Consumers shaped for nitro-cli read <c>Measurements</c> and ignore the rest.
/// </summary>
public static class EnclaveMeasurementsJson
{
    /// <summary>Writes the document.</summary>
    /// <param name="measurements">The PCRs.</param>
    /// <param name="runtime">The runtime the image carries, or <see langword="null"/> for <see cref="EnclaveRuntime.None"/>.</param>
    /// <param name="hashAlgorithm">The <c>HashAlgorithm</c> text (<see cref="EifMeasurements.HashAlgorithmNitroCli14"/> or <see cref="EifMeasurements.HashAlgorithmNitroCli15"/>).</param>
    /// <returns>Indented JSON, without a final newline.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="measurements"/> or <paramref name="hashAlgorithm"/> is <see langword="null"/>.</exception>
    public static string Write(EifMeasurements measurements, RuntimeBundle? runtime, string hashAlgorithm = EifMeasurements.DefaultHashAlgorithm)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WritePropertyName("Measurements");
        measurements.WriteJson(writer, hashAlgorithm);
        if (runtime is not null)
        {
            writer.WritePropertyName("CloisterRuntime");
            writer.WriteStartObject();
            writer.WriteProperty("Digest", runtime.Digest);
            writer.WriteProperty("Version", runtime.Provenance.Version);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        return writer.ToString();
    }
}

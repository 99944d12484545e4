using Cloister.Build.Eif;
using Cloister.Build.Json;

namespace Cloister.Cli;

/// <summary>
/// The JSON nitro-cli prints for measurements. <c>HashAlgorithm</c> is nitro-cli ≤1.4's <c>"Sha384 { ... }"</c>
/// (nitro-cli 1.5.0 prints <c>"Sha512_48 { .. }"</c> for the same SHA-384; the older text is what published
/// outputs and tooling mostly show).
/// </summary>
internal static class MeasurementsJson
{
    public const string HashAlgorithm = EifMeasurements.HashAlgorithmNitroCli14;

    /// <summary><c>{"Measurements": {...}}</c>, as <c>nitro-cli build-enclave</c> prints it.</summary>
    public static string Build(EifMeasurements measurements) => measurements.ToBuildEnclaveJson(HashAlgorithm);

    /// <summary><c>{"KEY": "hex"}</c>, as <c>nitro-cli pcr</c> prints it.</summary>
    public static string Single(string key, byte[] pcr)
    {
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WriteProperty(key, Convert.ToHexStringLower(pcr));
        writer.WriteEndObject();
        return writer.ToString();
    }
}

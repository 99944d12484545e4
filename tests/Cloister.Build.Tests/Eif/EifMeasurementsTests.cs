using Cloister.Build.Eif;
using Cloister.Build.Enclaves;

namespace Cloister.Build.Tests.Eif;

public sealed class EifMeasurementsTests
{
    [Theory]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli14, "Sha384 { ... }")]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli15, "Sha512_48 { .. }")]
    public void Build_enclave_json_carries_the_hash_algorithm_text_asked_for(string hashAlgorithm, string text)
    {
        var measurements = Measure();

        Assert.Equal(
            $"{{\n  \"Measurements\": {{\n    \"HashAlgorithm\": \"{text}\",\n"
            + $"    \"PCR0\": \"{Convert.ToHexStringLower(measurements.Pcr0)}\",\n    \"PCR1\": \"{Convert.ToHexStringLower(measurements.Pcr1)}\",\n"
            + $"    \"PCR2\": \"{Convert.ToHexStringLower(measurements.Pcr2)}\"\n  }}\n}}",
            EnclaveMeasurementsJson.Write(measurements, null, hashAlgorithm));
    }

    [Fact]
    public void The_default_is_what_nitro_cli_1_5_prints()
    {
        var measurements = Measure();

        Assert.Equal(EnclaveMeasurementsJson.Write(measurements, null, EifMeasurements.HashAlgorithmNitroCli15), EnclaveMeasurementsJson.Write(measurements, null));
    }

    private static EifMeasurements Measure()
    {
        var builder = new EifBuilder(new MemoryStream([1, 2]), "console=ttyS0", EifMetadataTests.Sample());
        builder.AddRamdisk(new MemoryStream([3]));
        builder.AddRamdisk(new MemoryStream([4]));
        using var image = new MemoryStream();
        return builder.WriteTo(image);
    }
}

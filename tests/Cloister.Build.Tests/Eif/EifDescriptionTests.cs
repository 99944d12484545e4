using System.Text.Json;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class EifDescriptionTests
{
    [Fact]
    public void Unsigned_image_has_no_signature_fields_and_flattens_custom_metadata()
    {
        using var custom = JsonDocument.Parse("""{"owner": "team", "build": 7}""");
        var builder = new EifBuilder(new MemoryStream([1, 2]), "console=ttyS0", EifMetadataTests.Sample(custom.RootElement.Clone()));
        builder.AddRamdisk(new MemoryStream([3]));
        using var image = new MemoryStream();
        var measurements = builder.WriteTo(image);
        image.Position = 0;
        using var reader = new EifReader(image);
        using var inspection = reader.Inspect();

        var json = EifDescription.ToJson(reader, inspection, EifMeasurements.HashAlgorithmNitroCli15);

        Assert.Equal(
            "{\n  \"EifVersion\": 4,\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha512_48 { .. }\",\n"
            + $"    \"PCR0\": \"{Convert.ToHexStringLower(measurements.Pcr0)}\",\n    \"PCR1\": \"{Convert.ToHexStringLower(measurements.Pcr1)}\",\n"
            + $"    \"PCR2\": \"{Convert.ToHexStringLower(measurements.Pcr2)}\"\n  }},\n  \"IsSigned\": false,\n  \"CheckCRC\": true,\n"
            + "  \"ImageName\": \"sample\",\n  \"ImageVersion\": \"1.0\",\n  \"Metadata\": {\n    \"BuildTime\": \"2024-01-01T00:00:00+00:00\",\n"
            + $"    \"BuildTool\": \"cloister\",\n    \"BuildToolVersion\": \"{EifMetadata.CloisterVersion}\",\n    \"OperatingSystem\": \"Linux\",\n"
            + "    \"KernelVersion\": \"4.14.256\",\n    \"DockerInfo\": null,\n    \"build\": 7,\n    \"owner\": \"team\"\n  }\n}",
            json);
    }

    [Fact]
    public void Signing_certificate_is_described_with_openssl_names()
    {
        using var reader = EifReader.Open(TestVectors.Derived("synthetic-signed.eif"));
        using var inspection = reader.Inspect();

        using var json = JsonDocument.Parse(EifDescription.ToJson(reader, inspection, EifMeasurements.HashAlgorithmNitroCli14));
        var certificate = json.RootElement.GetProperty("SigningCertificate");

        Assert.Equal("""{"commonName":"synthetic-eif-signer","countryName":"US"}""", certificate.GetProperty("IssuerName").GetRawText().Replace("\n", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("ecdsa-with-SHA384", certificate.GetProperty("Algorithm").GetString());
        Assert.Equal("Jan  1 00:00:00 2034 GMT", certificate.GetProperty("NotAfter").GetString());
        Assert.Matches("^30:66:02:31:00(:[0-9A-F]{2})+$", certificate.GetProperty("Signature").GetString());
    }
}

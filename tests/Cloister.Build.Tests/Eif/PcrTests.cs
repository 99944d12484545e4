using System.IO.Hashing;
using System.Security.Cryptography;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class PcrTests
{
    private static readonly System.Text.Json.JsonElement Examples =
        System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(TestVectors.Derived("pcr3-pcr4-examples.json"))).RootElement;

    [Fact]
    public void Pcr3_of_the_user_guide_role_matches_the_vector()
    {
        var example = Examples.GetProperty("PCR3");

        Assert.Equal(example.GetProperty("value").GetString(), Convert.ToHexStringLower(Pcr.ForIamRole(example.GetProperty("input").GetString()!)));
    }

    [Fact]
    public void Pcr4_of_the_user_guide_instance_matches_the_vector()
    {
        var example = Examples.GetProperty("PCR4");

        Assert.Equal(example.GetProperty("value").GetString(), Convert.ToHexStringLower(Pcr.ForInstanceId(example.GetProperty("input").GetString()!)));
    }

    [Fact]
    public void Content_pcr_is_the_extend_of_the_sha384_of_the_bytes()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);

        Assert.Equal(SHA384.HashData([.. new byte[48], .. SHA384.HashData(bytes)]), Pcr.ForContent(new MemoryStream(bytes)));
    }

    [Fact]
    public void Pcr2_of_an_image_with_one_ramdisk_is_the_extend_of_the_empty_hash()
    {
        using var output = new MemoryStream();
        var builder = new EifBuilder(new MemoryStream([1, 2, 3]), "console=ttyS0", EifMetadataTests.Sample());
        builder.AddRamdisk(new MemoryStream([4, 5, 6]));

        var measurements = builder.WriteTo(output);

        Assert.Equal(Pcr.ExtendZero(SHA384.HashData([])), measurements.Pcr2);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(544, 1)]
    [InlineData(1, 5000)]
    [InlineData(3000, 3_000_000)]
    public void Crc_combination_equals_the_crc_of_the_concatenation(int lengthA, int lengthB)
    {
        var a = RandomNumberGenerator.GetBytes(lengthA);
        var b = RandomNumberGenerator.GetBytes(lengthB);

        Assert.Equal(Crc32.HashToUInt32([.. a, .. b]), Crc32Combination.Combine(Crc32.HashToUInt32(a), Crc32.HashToUInt32(b), b.Length));
    }

    [Fact]
    public void Measurements_of_megabyte_sections_match_a_plain_hash()
    {
        var kernel = RandomNumberGenerator.GetBytes(3 * EifDigest.ChunkSize + 17);
        var first = RandomNumberGenerator.GetBytes(EifDigest.ChunkSize - 1);
        var second = RandomNumberGenerator.GetBytes(2 * EifDigest.ChunkSize + 5);
        var builder = new EifBuilder(new MemoryStream(kernel), "x", EifMetadataTests.Sample());
        builder.AddRamdisk(new MemoryStream(first));
        builder.AddRamdisk(new MemoryStream(second));
        using var output = new MemoryStream();

        var written = builder.WriteTo(output);
        output.Position = 0;
        using var reader = new EifReader(output);
        using var inspection = reader.Inspect();

        Assert.Equal(Pcr.ExtendZero(SHA384.HashData([.. kernel, (byte)'x', .. first, .. second])), written.Pcr0);
        Assert.Equal(Pcr.ExtendZero(SHA384.HashData([.. kernel, (byte)'x', .. first])), written.Pcr1);
        Assert.Equal(Pcr.ExtendZero(SHA384.HashData(second)), written.Pcr2);
        Assert.Equal(written.Pcr0, inspection.Measurements.Pcr0);
        Assert.Equal(written.Pcr1, inspection.Measurements.Pcr1);
        Assert.Equal(written.Pcr2, inspection.Measurements.Pcr2);
        Assert.True(inspection.CrcMatches);
    }
}

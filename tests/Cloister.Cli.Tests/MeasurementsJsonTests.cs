using System.CommandLine;
using Cloister.Build.Eif;

namespace Cloister.Cli.Tests;

public sealed class MeasurementsJsonTests
{
    [Theory]
    [InlineData("nitro-cli-1.4", "Sha384 { ... }")]
    [InlineData("nitro-cli-1.5", "Sha512_48 { .. }")]
    public void Each_value_of_hash_algorithm_name_gives_its_release_text(string value, string text)
    {
        var option = MeasurementsJson.CreateHashAlgorithmOption();

        var parsed = new RootCommand { option }.Parse(["--hash-algorithm-name", value]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(text, MeasurementsJson.HashAlgorithm(parsed, option));
    }

    [Fact]
    public void Without_the_option_the_current_release_text_is_written()
    {
        var option = MeasurementsJson.CreateHashAlgorithmOption();

        var parsed = new RootCommand { option }.Parse([]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("Sha512_48 { .. }", MeasurementsJson.HashAlgorithm(parsed, option));
        Assert.Equal(EifMeasurements.DefaultHashAlgorithm, MeasurementsJson.HashAlgorithm(parsed, option));
    }

    [Theory]
    [InlineData("nitro-cli-1.6")]
    [InlineData("NITRO-CLI-1.5")]
    [InlineData("1.5")]
    [InlineData("Sha384 { ... }")]
    [InlineData("")]
    public void Other_values_are_refused_when_parsed(string value)
    {
        var option = MeasurementsJson.CreateHashAlgorithmOption();

        var parsed = new RootCommand { option }.Parse(["--hash-algorithm-name", value]);

        var error = Assert.Single(parsed.Errors);
        Assert.Contains("nitro-cli-1.4", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => MeasurementsJson.HashAlgorithmFor(value));
    }
}

using System.Text;
using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Tests.Verification;

public sealed class PcrPolicyTests
{
    private static readonly string s_pcr0 = new('a', 96);
    private static readonly string s_pcr8 = "0F" + new string('e', 94);

    [Theory]
    [InlineData("Sha384 { ... }")]
    [InlineData("Sha512_48 { .. }")]
    public void Nitro_cli_measurements_are_read_ignoring_the_hash_algorithm(string hashAlgorithm)
    {
        var json = $$$"""{"Measurements":{"HashAlgorithm":"{{{hashAlgorithm}}}","PCR0":"{{{s_pcr0}}}","PCR8":"{{{s_pcr8}}}"}}""";

        var policy = PcrPolicy.FromMeasurementsJson(Encoding.UTF8.GetBytes(json));

        var set = Assert.Single(policy.Sets);
        Assert.Equal([0, 8], set.Keys.Order());
        Assert.Equal(Convert.FromHexString(s_pcr0), set[0]);
        Assert.Equal(Convert.FromHexString(s_pcr8), set[8]);
    }

    [Fact]
    public void Describe_eif_output_with_other_keys_is_accepted()
    {
        var json = $$$"""{"EifVersion":4,"Measurements":{"PCR0":"{{{s_pcr0}}}"},"IsSigned":false,"Metadata":{"BuildTool":"x"}}""";

        Assert.Single(PcrPolicy.ReadMeasurements(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("""{"Measurements":{"PCR0":"zz"}}""", "Measurements.PCR0")]
    [InlineData("""{"Measurements":{"PCR0":"abc"}}""", "Measurements.PCR0")]
    [InlineData("""{"Measurements":{"PCR0":"abcd"}}""", "Measurements.PCR0")]
    [InlineData("""{"Measurements":{"PCR0":12}}""", "Measurements.PCR0")]
    [InlineData("""{"Measurements":{"PCR32":"00"}}""", "Measurements.PCR32")]
    [InlineData("""{"Measurements":{"PCR01":"00"}}""", "Measurements.PCR01")]
    [InlineData("""{"Measurements":{"pcr0":"00"}}""", "Measurements.pcr0")]
    [InlineData("""{"Measurements":{"Foo":"00"}}""", "Measurements.Foo")]
    [InlineData("""{"Measurements":{"HashAlgorithm":"x"}}""", "no PCRn")]
    [InlineData("""{"Measurements":[]}""", "not an object")]
    [InlineData("""{"Other":{}}""", "no 'Measurements'")]
    [InlineData("""[]""", "expected an object")]
    [InlineData("""{"Measurements":{"PCR0":""", "not valid JSON")]
    [InlineData("""not json""", "not valid JSON")]
    public void Bad_measurements_are_format_errors_naming_the_key(string json, string named)
    {
        var ex = Assert.Throws<FormatException>(() => PcrPolicy.FromMeasurementsJson(Encoding.UTF8.GetBytes(json)));

        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7b22ff223a317d")]
    [InlineData("7b224d6561737572656d656e7473223a7b2250435230223a22ff227d7d")]
    public void A_key_or_value_that_is_not_utf8_is_a_format_error(string hex)
    {
        // The pattern of a fuzz/ finding (oci-config): {"\xff":1} and {"Measurements":{"PCR0":"\xff"}} escaped as
        // InvalidOperationException, since Utf8JsonReader checks a string's UTF-8 only when it is read.
        var ex = Assert.Throws<FormatException>(() => PcrPolicy.ReadMeasurements(Convert.FromHexString(hex)));

        Assert.Contains("not valid UTF-8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_pcr_key_is_a_format_error()
    {
        var json = $$$"""{"Measurements":{"PCR0":"{{{s_pcr0}}}","PCR0":"{{{s_pcr0}}}"}}""";

        var ex = Assert.Throws<FormatException>(() => PcrPolicy.FromMeasurementsJson(Encoding.UTF8.GetBytes(json)));

        Assert.Contains("duplicate key Measurements.PCR0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_policy_copies_its_values()
    {
        var value = new byte[48];
        var policy = PcrPolicy.Exactly(new Dictionary<int, byte[]> { [0] = value });

        value[0] = 1;

        Assert.Equal(0, policy.Sets[0][0][0]);
    }
}

using System.Text;
using System.Text.Json;
using Cloister.Build.Eif;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Build.Tests.Eif;

public sealed class EifMetadataTests
{
    internal static EifMetadata Sample(JsonElement? custom = null) => new()
    {
        ImageName = "sample",
        ImageVersion = "1.0",
        BuildTime = "2024-01-01T00:00:00+00:00",
        BuildTool = EifMetadata.CloisterBuildTool,
        BuildToolVersion = EifMetadata.CloisterVersion,
        OperatingSystem = "Linux",
        KernelVersion = "4.14.256",
        CustomMetadata = custom,
    };

    [Theory]
    [InlineData(0L, "2024-07-09T17:16:38+00:00")]
    [InlineData(4_240_000L, "2024-07-09T17:16:38.424+00:00")]
    [InlineData(4_242_020L, "2024-07-09T17:16:38.424202+00:00")]
    [InlineData(4_242_024L, "2024-07-09T17:16:38.424202400+00:00")]
    public void Build_time_is_formatted_like_chrono_to_rfc3339(long extraTicks, string expected)
    {
        var time = new DateTimeOffset(2024, 7, 9, 19, 16, 38, TimeSpan.FromHours(2)).AddTicks(extraTicks);

        Assert.Equal(expected, EifMetadata.FormatBuildTime(time));
    }

    [Fact]
    public void Source_date_epoch_wins_over_the_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), EifMetadata.ResolveBuildTime("1704067200", clock));
        Assert.Equal(clock.GetUtcNow(), EifMetadata.ResolveBuildTime(null, clock));
        Assert.Equal(clock.GetUtcNow(), EifMetadata.ResolveBuildTime("", clock));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("12abc")]
    [InlineData("1.5")]
    public void Malformed_source_date_epoch_is_refused(string value)
    {
        var error = Assert.Throws<FormatException>(() => EifMetadata.ResolveBuildTime(value, TimeProvider.System));

        Assert.Contains("SOURCE_DATE_EPOCH", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_config_line_three_gives_os_and_version()
    {
        const string config = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration\n#\n";

        Assert.Equal(("Linux", "4.14.256"), EifMetadata.ReadKernelConfig(new StringReader(config)));
    }

    [Theory]
    [InlineData("#\n#\n")]
    [InlineData("#\n#\n# Linux\n")]
    public void Kernel_config_without_the_identity_line_is_refused(string config)
    {
        Assert.Throws<FormatException>(() => EifMetadata.ReadKernelConfig(new StringReader(config)));
    }

    [Fact]
    public void Json_has_nitro_cli_field_order_and_sorted_custom_keys()
    {
        using var custom = JsonDocument.Parse("""{"zeta": 1, "alpha": {"b": [1, "x\u0001\"é"], "a": null}}""");

        var json = Encoding.UTF8.GetString(Sample(custom.RootElement.Clone()).ToUtf8Json());

        Assert.Equal(
            "{\"ImageName\":\"sample\",\"ImageVersion\":\"1.0\",\"BuildMetadata\":{\"BuildTime\":\"2024-01-01T00:00:00+00:00\",\"BuildTool\":\"cloister\","
            + $"\"BuildToolVersion\":\"{EifMetadata.CloisterVersion}\",\"OperatingSystem\":\"Linux\",\"KernelVersion\":\"4.14.256\"}},\"DockerInfo\":null,"
            + "\"CustomMetadata\":{\"alpha\":{\"a\":null,\"b\":[1,\"x\\u0001\\\"é\"]},\"zeta\":1}}",
            json);
    }

    [Fact]
    public void Parse_reads_back_what_was_written()
    {
        using var custom = JsonDocument.Parse("""{"k":"v"}""");
        var written = Sample(custom.RootElement.Clone()).ToUtf8Json();

        var parsed = EifMetadata.Parse(written, 0);

        Assert.Equal(written, parsed.ToUtf8Json());
        Assert.Equal("sample", parsed.ImageName);
        Assert.Null(parsed.DockerInfo);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"ImageName\":\"a\"}")]
    [InlineData("{\"ImageName\":1,\"ImageVersion\":\"v\",\"BuildMetadata\":{}}")]
    public void Malformed_metadata_is_a_bad_metadata_error(string json)
    {
        var error = Assert.Throws<EifFormatException>(() => EifMetadata.Parse(Encoding.UTF8.GetBytes(json), 123));

        Assert.Equal(EifError.BadMetadata, error.Error);
        Assert.Equal(123, error.Offset);
    }
}

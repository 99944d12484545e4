using System.Globalization;
using System.Text;
using System.Text.Json;
using Cloister.Build.Json;

namespace Cloister.Build.Eif;

/// <summary>
/// The metadata section (nitro-cli's <c>EifIdentityInfo</c>): written as compact JSON with the fields in
/// nitro-cli's order, <c>ImageName, ImageVersion, BuildMetadata{BuildTime, BuildTool, BuildToolVersion,
/// OperatingSystem, KernelVersion}, DockerInfo, CustomMetadata</c>. Not measured into any PCR.
/// </summary>
public sealed class EifMetadata
{
    /// <summary>The <c>BuildTool</c> Cloister writes (nitro-cli writes <c>nitro-cli</c>).</summary>
    public const string CloisterBuildTool = "cloister";

    /// <summary>The largest metadata section this reader accepts.</summary>
    internal const int MaxSize = 16 << 20;

    /// <summary>The image name (nitro-cli: <c>--name</c>, or the Docker URI before its first ':').</summary>
    public required string ImageName { get; init; }

    /// <summary>The image version (nitro-cli: <c>--version</c>, or the Docker image id without <c>sha256:</c>).</summary>
    public required string ImageVersion { get; init; }

    /// <summary>The build time in chrono's <c>to_rfc3339</c> form; see <see cref="FormatBuildTime"/>.</summary>
    public required string BuildTime { get; init; }

    /// <summary>The tool that built the image; <see cref="CloisterBuildTool"/> for ours.</summary>
    public required string BuildTool { get; init; }

    /// <summary>The version of the tool that built the image; <see cref="CloisterVersion"/> for ours.</summary>
    public required string BuildToolVersion { get; init; }

    /// <summary>The kernel's operating system, e.g. <c>Linux</c>; see <see cref="ReadKernelConfig"/>.</summary>
    public required string OperatingSystem { get; init; }

    /// <summary>The kernel version, e.g. <c>4.14.256</c>; see <see cref="ReadKernelConfig"/>.</summary>
    public required string KernelVersion { get; init; }

    /// <summary>Docker's image-inspect JSON, or null (Cloister builds without Docker).</summary>
    public JsonElement? DockerInfo { get; init; }

    /// <summary>The user's <c>--metadata</c> JSON, or null.</summary>
    public JsonElement? CustomMetadata { get; init; }

    /// <summary>The Cloister version written as <c>BuildToolVersion</c>: the assembly version as major.minor.patch.</summary>
    public static string CloisterVersion { get; } = typeof(EifMetadata).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// The build time to record: <c>SOURCE_DATE_EPOCH</c> (whole seconds since 1970) when set, so that builds are
    /// reproducible, else the clock's current UTC time.
    /// </summary>
    /// <param name="sourceDateEpoch">The value of the <c>SOURCE_DATE_EPOCH</c> environment variable, or null/empty when unset.</param>
    /// <param name="clock">The clock read when <paramref name="sourceDateEpoch"/> is unset.</param>
    /// <returns>The time, in UTC.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="clock"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="sourceDateEpoch"/> is not a non-negative integer.</exception>
    public static DateTimeOffset ResolveBuildTime(string? sourceDateEpoch, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        if (string.IsNullOrEmpty(sourceDateEpoch))
        {
            return clock.GetUtcNow();
        }

        return long.TryParse(sourceDateEpoch, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new FormatException($"SOURCE_DATE_EPOCH is '{sourceDateEpoch}', expected whole seconds since 1970-01-01");
    }

    /// <summary>
    /// Formats a time as chrono's <c>DateTime&lt;Utc&gt;::to_rfc3339</c>: <c>+00:00</c> offset and a fraction of 0, 3,
    /// 6 or 9 digits, the fewest that are exact (e.g. <c>2024-07-09T17:16:38.424202400+00:00</c>).
    /// </summary>
    /// <param name="time">The time; converted to UTC.</param>
    /// <returns>The text.</returns>
    public static string FormatBuildTime(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        var nanoseconds = utc.Ticks % TimeSpan.TicksPerSecond * 100;
        var fraction = nanoseconds switch
        {
            0 => string.Empty,
            _ when nanoseconds % 1_000_000 == 0 => "." + (nanoseconds / 1_000_000).ToString("D3", CultureInfo.InvariantCulture),
            _ when nanoseconds % 1_000 == 0 => "." + (nanoseconds / 1_000).ToString("D6", CultureInfo.InvariantCulture),
            _ => "." + nanoseconds.ToString("D9", CultureInfo.InvariantCulture),
        };
        return utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + fraction + "+00:00";
    }

    /// <summary>
    /// Reads the operating system and kernel version from a kernel config file as nitro-cli does: line 3 (e.g.
    /// <c># Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration</c>) split on ' ', '/' and '-', words 1 and 3.
    /// </summary>
    /// <param name="kernelConfig">The kernel config text (<c>bzImage.config</c>).</param>
    /// <returns>The operating system and the kernel version.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="kernelConfig"/> is null.</exception>
    /// <exception cref="FormatException">Line 3 is missing or has fewer than four words.</exception>
    public static (string OperatingSystem, string KernelVersion) ReadKernelConfig(TextReader kernelConfig)
    {
        ArgumentNullException.ThrowIfNull(kernelConfig);
        string? line = null;
        for (var i = 0; i < 3; i++)
        {
            line = kernelConfig.ReadLine() ?? throw new FormatException($"the kernel config has {i} lines; line 3 names the kernel");
        }

        var words = line!.Split(' ', '/', '-');
        return words.Length >= 4
            ? (words[1], words[3])
            : throw new FormatException($"line 3 of the kernel config ('{line}') does not read '# <OS>/<arch> <version>-...'");
    }

    /// <summary>Decodes a metadata section.</summary>
    /// <param name="json">The section data.</param>
    /// <param name="offset">The file offset of the section data, for error messages.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="EifFormatException">The data is not JSON, or a field is missing or not a string (<see cref="EifError.BadMetadata"/>).</exception>
    public static EifMetadata Parse(ReadOnlyMemory<byte> json, long offset)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var build = Field(root, "BuildMetadata", JsonValueKind.Object);
            return new EifMetadata
            {
                ImageName = Text(root, "ImageName"),
                ImageVersion = Text(root, "ImageVersion"),
                BuildTime = Text(build, "BuildTime"),
                BuildTool = Text(build, "BuildTool"),
                BuildToolVersion = Text(build, "BuildToolVersion"),
                OperatingSystem = Text(build, "OperatingSystem"),
                KernelVersion = Text(build, "KernelVersion"),
                DockerInfo = Optional(root, "DockerInfo"),
                CustomMetadata = Optional(root, "CustomMetadata"),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new EifFormatException(EifError.BadMetadata, offset, $"the metadata section is not nitro-cli's metadata JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The section bytes: compact JSON in nitro-cli's field order.</summary>
    /// <returns>UTF-8 JSON.</returns>
    public byte[] ToUtf8Json()
    {
        var writer = new SerdeJsonWriter(indented: false);
        writer.WriteStartObject();
        writer.WriteProperty("ImageName", ImageName);
        writer.WriteProperty("ImageVersion", ImageVersion);
        writer.WritePropertyName("BuildMetadata");
        writer.WriteStartObject();
        WriteBuildFields(writer);
        writer.WriteEndObject();
        WriteOptional(writer, "DockerInfo", DockerInfo);
        WriteOptional(writer, "CustomMetadata", CustomMetadata);
        writer.WriteEndObject();
        return Encoding.UTF8.GetBytes(writer.ToString());
    }

    /// <summary>
    /// Writes <c>describe-eif</c>'s <c>Metadata</c> object: the build fields, <c>DockerInfo</c>, then the custom
    /// metadata's members flattened in (a custom value that is not an object is written as <c>CustomMetadata</c>).
    /// </summary>
    /// <param name="writer">The writer, positioned where a value is expected.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    public void WriteDescription(SerdeJsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        WriteBuildFields(writer);
        WriteOptional(writer, "DockerInfo", DockerInfo);
        if (CustomMetadata is { ValueKind: JsonValueKind.Object } custom)
        {
            writer.WriteMembers(custom);
        }
        else if (CustomMetadata is { ValueKind: not JsonValueKind.Null } other)
        {
            writer.WritePropertyName("CustomMetadata");
            writer.WriteValue(other);
        }

        writer.WriteEndObject();
    }

    private static void WriteOptional(SerdeJsonWriter writer, string name, JsonElement? value)
    {
        writer.WritePropertyName(name);
        if (value is { } element)
        {
            writer.WriteValue(element);
        }
        else
        {
            writer.WriteString(null);
        }
    }

    private static JsonElement Field(JsonElement parent, string name, JsonValueKind kind)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value))
        {
            throw new KeyNotFoundException($"{name} is missing");
        }

        return value.ValueKind == kind ? value : throw new InvalidOperationException($"{name} is {value.ValueKind}, expected {kind}");
    }

    private static string Text(JsonElement parent, string name) => Field(parent, name, JsonValueKind.String).GetString()!;

    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.Clone() : null;

    private void WriteBuildFields(SerdeJsonWriter writer)
    {
        writer.WriteProperty("BuildTime", BuildTime);
        writer.WriteProperty("BuildTool", BuildTool);
        writer.WriteProperty("BuildToolVersion", BuildToolVersion);
        writer.WriteProperty("OperatingSystem", OperatingSystem);
        writer.WriteProperty("KernelVersion", KernelVersion);
    }
}

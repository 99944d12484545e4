using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Runtime.Manifest;

/// <summary>Reads and writes <c>/cloister/enclave.json</c> without reflection, so the NativeAOT supervisor can read it.</summary>
public static class EnclaveLaunchSpecJson
{
    /// <summary>Serializes a launch spec as indented UTF-8 JSON with snake_case keys.</summary>
    /// <param name="spec">The spec.</param>
    /// <returns>The JSON bytes; identical for identical specs, so builds stay reproducible.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="spec"/> is <see langword="null"/>.</exception>
    public static byte[] Serialize(EnclaveLaunchSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return JsonSerializer.SerializeToUtf8Bytes(spec, EnclaveLaunchSpecJsonContext.Default.EnclaveLaunchSpec);
    }

    /// <summary>Parses a launch spec.</summary>
    /// <param name="json">The JSON bytes.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="FormatException">The JSON is malformed, lacks a required member, has an unknown one, or is of a version this code does not know.</exception>
    public static EnclaveLaunchSpec Deserialize(ReadOnlySpan<byte> json)
    {
        EnclaveLaunchSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(json, EnclaveLaunchSpecJsonContext.Default.EnclaveLaunchSpec);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"enclave.json: {ex.Message}", ex);
        }

        if (spec is null)
        {
            throw new FormatException("enclave.json: the document is null");
        }

        return spec.Version == EnclaveLaunchSpec.CurrentVersion
            ? spec
            : throw new FormatException($"enclave.json: version {spec.Version} is not supported (this build reads version {EnclaveLaunchSpec.CurrentVersion})");
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(EnclaveLaunchSpec))]
internal sealed partial class EnclaveLaunchSpecJsonContext : JsonSerializerContext;

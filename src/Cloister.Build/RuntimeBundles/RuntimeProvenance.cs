using System.Text;
using System.Text.Json;
using Cloister.Build.Json;

namespace Cloister.Build.RuntimeBundles;

/// <summary>
/// Where a runtime came from, kept inside it as <c>/cloister/runtime.json</c> (and so measured into PCR2): the Cloister
/// version that produced it and every Debian package its libraries were taken from, so an auditor can read from an
/// image exactly which glibc and OpenSSL it runs.
/// </summary>
public sealed class RuntimeProvenance
{
    /// <summary>The Cloister version that produced the runtime, e.g. <c>0.1.0</c>.</summary>
    public required string Version { get; init; }

    /// <summary>The pinned packages, sorted by name.</summary>
    public required IReadOnlyList<RuntimePackage> Packages { get; init; }

    /// <summary>The file's bytes: indented JSON with the keys in a fixed order and the packages sorted by name.</summary>
    /// <returns>UTF-8 JSON ending in a newline.</returns>
    public byte[] ToUtf8Json()
    {
        var writer = new SerdeJsonWriter(indented: true);
        writer.WriteStartObject();
        writer.WriteProperty("version", Version);
        writer.WritePropertyName("packages");
        writer.WriteStartArray();
        foreach (var package in Packages.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            writer.WriteStartObject();
            writer.WriteProperty("name", package.Name);
            writer.WriteProperty("version", package.Version);
            writer.WriteProperty("architecture", package.Architecture);
            writer.WriteProperty("sha256", package.Sha256);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        return Encoding.UTF8.GetBytes(writer + "\n");
    }

    /// <summary>Reads the file back.</summary>
    /// <param name="json">The bytes of <c>/cloister/runtime.json</c>.</param>
    /// <returns>The provenance.</returns>
    /// <exception cref="FormatException">The JSON is malformed, or a field is missing, of the wrong kind or unknown.</exception>
    public static RuntimeProvenance Parse(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            var root = document.RootElement;
            Expect(root, JsonValueKind.Object, "the document");
            OnlyKeys(root, "the document", "version", "packages");
            var packages = Field(root, "packages", JsonValueKind.Array);
            return new RuntimeProvenance
            {
                Version = Field(root, "version", JsonValueKind.String).GetString()!,
                Packages = [.. packages.EnumerateArray().Select(ParsePackage)],
            };
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not JSON: {ex.Message}", ex);
        }
    }

    private static RuntimePackage ParsePackage(JsonElement package)
    {
        Expect(package, JsonValueKind.Object, "a package");
        OnlyKeys(package, "a package", "name", "version", "architecture", "sha256");
        return new RuntimePackage(
            Field(package, "name", JsonValueKind.String).GetString()!,
            Field(package, "version", JsonValueKind.String).GetString()!,
            Field(package, "architecture", JsonValueKind.String).GetString()!,
            Field(package, "sha256", JsonValueKind.String).GetString()!);
    }

    private static JsonElement Field(JsonElement owner, string name, JsonValueKind kind)
    {
        if (!owner.TryGetProperty(name, out var value))
        {
            throw new FormatException($"'{name}' is missing");
        }

        Expect(value, kind, $"'{name}'");
        return value;
    }

    private static void Expect(JsonElement value, JsonValueKind kind, string what)
    {
        if (value.ValueKind != kind)
        {
            throw new FormatException($"{what} is {value.ValueKind}, expected {kind}");
        }
    }

    private static void OnlyKeys(JsonElement value, string what, params ReadOnlySpan<string> keys)
    {
        foreach (var property in value.EnumerateObject())
        {
            if (!keys.Contains(property.Name))
            {
                throw new FormatException($"{what} has an unknown key '{property.Name}'");
            }
        }
    }
}

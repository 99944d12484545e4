using System.Globalization;
using System.Text.Json;

namespace Cloister.Build.Images;

/// <summary>
/// Reads the fields of an image JSON document (manifest, index, config) with errors that name the document and the
/// JSON path of the offending field.
/// </summary>
internal sealed class JsonFields(string document)
{
    /// <summary>Names the document in messages.</summary>
    public string Document => document;

    public JsonDocument Parse(ReadOnlyMemory<byte> json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{document} is not valid JSON: {ex.Message}", ex);
        }
    }

    public JsonElement Object(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object ? element : throw Wrong(path, "an object", element);

    public JsonElement? OptionalObject(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? Object(value, path) : null;

    public string RequiredString(JsonElement parent, string name, string path) =>
        OptionalString(parent, name, path) ?? throw Missing(path);

    public string? OptionalString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? Text(value, path) : throw Wrong(path, "a string", value);
    }

    public long RequiredInt64(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            throw Missing(path);
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0
            ? number
            : throw Wrong(path, "a non-negative integer", value);
    }

    public bool OptionalBoolean(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw Wrong(path, "a boolean", value),
        };

    public DateTimeOffset? OptionalTime(JsonElement parent, string name, string path)
    {
        var text = OptionalString(parent, name, path);
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new ImageSourceException(ImageSourceError.Malformed, $"{document}: field '{path}' is '{text}', not an RFC 3339 time");
    }

    /// <summary>The elements of an array field; an absent or null field is empty.</summary>
    public IEnumerable<(JsonElement Element, string Path)> Array(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        return Elements(value, path);
    }

    /// <summary>The elements of an array, each with its JSON path.</summary>
    public IEnumerable<(JsonElement Element, string Path)> Elements(JsonElement array, string path) =>
        array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Select((element, i) => (element, $"{path}[{i}]"))
            : throw Wrong(path, "an array", array);

    public IReadOnlyList<string> StringArray(JsonElement parent, string name, string path) =>
        Array(parent, name, path)
            .Select(item => item.Element.ValueKind == JsonValueKind.String ? Text(item.Element, item.Path) : throw Wrong(item.Path, "a string", item.Element))
            .ToArray();

    public ImageSourceException Missing(string path) =>
        new(ImageSourceError.Malformed, $"{document}: required field '{path}' is missing");

    public ImageSourceException Wrong(string path, string expected, JsonElement actual) =>
        new(ImageSourceError.Malformed, $"{document}: field '{path}' must be {expected}, not {actual.ValueKind.ToString().ToLowerInvariant()}");

    public ImageSourceException Invalid(string path, string why) =>
        new(ImageSourceError.Malformed, $"{document}: field '{path}' {why}");

    // JsonDocument checks a string's UTF-8 only when the string is read, and then throws InvalidOperationException.
    private string Text(JsonElement value, string path)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{document}: field '{path}' is not valid UTF-8", ex);
        }
    }
}

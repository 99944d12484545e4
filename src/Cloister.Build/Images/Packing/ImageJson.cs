using System.Text.Encodings.Web;
using System.Text.Json;

namespace Cloister.Build.Images.Packing;

/// <summary>The JSON shapes a packed image's manifest and index share.</summary>
internal static class ImageJson
{
    // The default encoder writes '+' (in every media type) as \u002B: valid, but unlike every other tool's output.
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteDescriptorFields(Utf8JsonWriter json, ImageDescriptor descriptor)
    {
        json.WriteString("mediaType", descriptor.MediaType);
        json.WriteString("digest", descriptor.Digest);
        json.WriteNumber("size", descriptor.Size);
    }

    public static void WriteDescriptor(Utf8JsonWriter json, string name, ImageDescriptor descriptor)
    {
        json.WriteStartObject(name);
        WriteDescriptorFields(json, descriptor);
        json.WriteEndObject();
    }

    public static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    public static byte[] Serialize(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_options))
        {
            write(json);
        }

        return buffer.ToArray();
    }
}

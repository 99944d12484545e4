using System.Text.Json;
using Cloister.Build.Json;

namespace Cloister.Build.Tests.Json;

public sealed class SerdeJsonWriterTests
{
    [Fact]
    public void Pretty_output_matches_serde_json_to_string_pretty()
    {
        using var value = JsonDocument.Parse("""{"b": [1, {}], "a": [], "c": {"x": true}}""");
        var writer = new SerdeJsonWriter(indented: true);

        writer.WriteValue(value.RootElement);

        Assert.Equal("{\n  \"a\": [],\n  \"b\": [\n    1,\n    {}\n  ],\n  \"c\": {\n    \"x\": true\n  }\n}", writer.ToString());
    }

    [Fact]
    public void Strings_escape_only_what_serde_json_escapes()
    {
        var writer = new SerdeJsonWriter(indented: false);

        writer.WriteString("<&'>\u007f é 😀 \"\\\n\t\u001f");

        Assert.Equal("\"<&'>\u007f é 😀 \\\"\\\\\\n\\t\\u001f\"", writer.ToString());
    }

    [Fact]
    public void Repeated_keys_keep_the_last_value_and_keys_sort_bytewise()
    {
        using var value = JsonDocument.Parse("""{"é": 1, "z": 1, "Z": 2, "z": 3}""");
        var writer = new SerdeJsonWriter(indented: false);

        writer.WriteValue(value.RootElement);

        Assert.Equal("""{"Z":2,"z":3,"é":1}""", writer.ToString());
    }
}

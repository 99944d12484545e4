using System.Globalization;
using System.Text;
using System.Text.Json;
using Cloister.Build.Layers;

namespace Cloister.Build.Json;

/// <summary>
/// Writes JSON text the way Rust's serde_json does, so output compares byte for byte with nitro-cli's:
/// compact (<c>to_vec</c>: no whitespace) or pretty (<c>to_string_pretty</c>: two-space indent, <c>": "</c>,
/// empty containers as <c>{}</c>/<c>[]</c>), escaping only quote, backslash and control characters
/// (lowercase <c>\u00xx</c>), everything else as raw UTF-8.
/// </summary>
public sealed class SerdeJsonWriter
{
    private readonly StringBuilder _text = new();
    private readonly Stack<bool> _containerHasItems = new();
    private readonly bool _indented;
    private bool _afterPropertyName;

    /// <summary>Creates a writer.</summary>
    /// <param name="indented">True for serde_json's pretty format, false for its compact format.</param>
    public SerdeJsonWriter(bool indented) => _indented = indented;

    /// <summary>Starts an object.</summary>
    public void WriteStartObject() => StartContainer('{');

    /// <summary>Ends the innermost object.</summary>
    /// <exception cref="InvalidOperationException">No container is open.</exception>
    public void WriteEndObject() => EndContainer('}');

    /// <summary>Starts an array.</summary>
    public void WriteStartArray() => StartContainer('[');

    /// <summary>Ends the innermost array.</summary>
    /// <exception cref="InvalidOperationException">No container is open.</exception>
    public void WriteEndArray() => EndContainer(']');

    /// <summary>Writes an object key; the next call writes its value.</summary>
    /// <param name="name">The key.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public void WritePropertyName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        BeginValue();
        AppendQuoted(name);
        _text.Append(_indented ? ": " : ":");
        _afterPropertyName = true;
    }

    /// <summary>Writes a string value, or null when <paramref name="value"/> is null.</summary>
    /// <param name="value">The string.</param>
    public void WriteString(string? value)
    {
        BeginValue();
        if (value is null)
        {
            _text.Append("null");
        }
        else
        {
            AppendQuoted(value);
        }
    }

    /// <summary>Writes <c>true</c> or <c>false</c>.</summary>
    /// <param name="value">The value.</param>
    public void WriteBoolean(bool value)
    {
        BeginValue();
        _text.Append(value ? "true" : "false");
    }

    /// <summary>Writes an integer.</summary>
    /// <param name="value">The value.</param>
    public void WriteNumber(long value)
    {
        BeginValue();
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Writes a key and its string value.</summary>
    /// <param name="name">The key.</param>
    /// <param name="value">The value; null writes <c>null</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public void WriteProperty(string name, string? value)
    {
        WritePropertyName(name);
        WriteString(value);
    }

    /// <summary>Writes a key and its boolean value.</summary>
    /// <param name="name">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public void WriteProperty(string name, bool value)
    {
        WritePropertyName(name);
        WriteBoolean(value);
    }

    /// <summary>
    /// Writes a parsed JSON value. Object keys are sorted bytewise (serde_json without <c>preserve_order</c> keeps
    /// objects in a BTreeMap, so nitro-cli re-emits any JSON it parsed sorted; a repeated key keeps its last value);
    /// numbers keep their source text.
    /// </summary>
    /// <param name="value">The value.</param>
    public void WriteValue(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteStartObject();
                foreach (var property in SortedProperties(value))
                {
                    WritePropertyName(property.Name);
                    WriteValue(property.Value);
                }

                WriteEndObject();
                break;
            case JsonValueKind.Array:
                WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    WriteValue(item);
                }

                WriteEndArray();
                break;
            case JsonValueKind.String:
                WriteString(value.GetString());
                break;
            case JsonValueKind.Number:
                BeginValue();
                _text.Append(value.GetRawText());
                break;
            case JsonValueKind.True:
            case JsonValueKind.False:
                WriteBoolean(value.GetBoolean());
                break;
            default:
                WriteString(null);
                break;
        }
    }

    /// <summary>Writes the members of a JSON object, sorted as <see cref="WriteValue"/> does, into the open object.</summary>
    /// <param name="value">A JSON object.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not an object.</exception>
    public void WriteMembers(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"expected a JSON object, got {value.ValueKind}", nameof(value));
        }

        foreach (var property in SortedProperties(value))
        {
            WritePropertyName(property.Name);
            WriteValue(property.Value);
        }
    }

    /// <summary>The JSON text written so far.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => _text.ToString();

    private static IEnumerable<JsonProperty> SortedProperties(JsonElement value)
    {
        var lastByName = new Dictionary<string, JsonProperty>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            lastByName[property.Name] = property;
        }

        return lastByName.Values.OrderBy(p => p.Name, Utf8Ordinal.Instance);
    }

    private void StartContainer(char open)
    {
        BeginValue();
        _text.Append(open);
        _containerHasItems.Push(false);
    }

    private void EndContainer(char close)
    {
        if (_containerHasItems.Count == 0)
        {
            throw new InvalidOperationException("no JSON container is open");
        }

        if (_containerHasItems.Pop() && _indented)
        {
            NewLine();
        }

        _text.Append(close);
    }

    private void BeginValue()
    {
        if (_afterPropertyName)
        {
            _afterPropertyName = false;
            return;
        }

        if (_containerHasItems.Count == 0)
        {
            return;
        }

        if (_containerHasItems.Pop())
        {
            _text.Append(',');
        }

        _containerHasItems.Push(true);
        if (_indented)
        {
            NewLine();
        }
    }

    private void NewLine() => _text.Append('\n').Append(' ', 2 * _containerHasItems.Count);

    private void AppendQuoted(string value)
    {
        _text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': _text.Append("\\\""); break;
                case '\\': _text.Append("\\\\"); break;
                case '\b': _text.Append("\\b"); break;
                case '\f': _text.Append("\\f"); break;
                case '\n': _text.Append("\\n"); break;
                case '\r': _text.Append("\\r"); break;
                case '\t': _text.Append("\\t"); break;
                case < ' ': _text.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: _text.Append(c); break;
            }
        }

        _text.Append('"');
    }
}

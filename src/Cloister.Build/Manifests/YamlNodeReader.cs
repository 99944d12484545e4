using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cloister.Build.Manifests;

/// <summary>
/// The YAML primitives every manifest section is read with: typed values out of nodes, mappings checked for unknown
/// keys, and each problem recorded with its line and column instead of thrown, so one pass reports them all.
/// </summary>
/// <param name="source">The name errors are reported under, normally the manifest file's name.</param>
internal sealed class YamlNodeReader(string source)
{
    /// <summary>Every problem recorded so far, in the order found.</summary>
    public List<ManifestError> Errors { get; } = [];

    /// <summary>The fields of a mapping; every key not in <paramref name="known"/> is an error (with the nearest known key as a hint).</summary>
    /// <returns>The known fields by key, or <see langword="null"/> when the node is not a mapping.</returns>
    public Dictionary<string, YamlNode>? Mapping(YamlNode node, string path, string[] known)
    {
        if (node is not YamlMappingNode map)
        {
            Error(node, path, $"expected a mapping with keys {string.Join(", ", known)}; found {Describe(node)}");
            return null;
        }

        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            var key = keyNode is YamlScalarNode { Value: { } k } ? k : null;
            var keyPath = path.Length == 0 ? key ?? "?" : $"{path}.{key}";
            if (key is null || Array.IndexOf(known, key) < 0)
            {
                var hint = key is null ? null : KeySpelling.Closest(key, known);
                Error(keyNode, keyPath, $"unknown key '{key}'" + (hint is null ? $"; expected one of {string.Join(", ", known)}" : $"; did you mean '{hint}'?"));
                continue;
            }

            fields[key] = value;
        }

        return fields;
    }

    /// <summary>The items of a list, or an error when the node is something else.</summary>
    /// <returns>Whether the node is a list.</returns>
    public bool Sequence(YamlNode node, string path, out IList<YamlNode> items, string? expected = null)
    {
        if (node is YamlSequenceNode sequence)
        {
            items = sequence.Children;
            return true;
        }

        Error(node, path, $"expected {expected ?? "a list"}, found {Describe(node)}");
        items = [];
        return false;
    }

    /// <summary>A list of strings.</summary>
    /// <returns>The strings, or <see langword="null"/> when the node is not a list or an item is not a string.</returns>
    public List<string>? Strings(YamlNode node, string path, string? expected = null)
    {
        if (!Sequence(node, path, out var items, expected ?? "a list of strings"))
        {
            return null;
        }

        var values = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (String(items[i], $"{path}[{i}]") is { } value)
            {
                values.Add(value);
            }
        }

        return values.Count == items.Count ? values : null;
    }

    /// <summary>Reads <paramref name="key"/> of <paramref name="fields"/>, or reports it missing at <paramref name="parent"/>.</summary>
    /// <returns>The value, or <see langword="default"/> when it is missing or bad.</returns>
    public T? Required<T>(Dictionary<string, YamlNode> fields, YamlNode parent, string path, string key, Func<YamlNode, string, T?> read)
    {
        var keyPath = path.Length == 0 ? key : $"{path}.{key}";
        if (fields.TryGetValue(key, out var node))
        {
            return read(node, keyPath);
        }

        Error(parent, keyPath, $"'{key}' is required");
        return default;
    }

    /// <summary>Reads <paramref name="key"/> of <paramref name="fields"/> when it is there.</summary>
    /// <returns>The value, or <see langword="default"/> when it is absent or bad.</returns>
    public static T? Optional<T>(Dictionary<string, YamlNode> fields, string key, Func<YamlNode, string, T?> read, string path = "") =>
        fields.TryGetValue(key, out var node) ? read(node, path.Length == 0 ? key : $"{path}.{key}") : default;

    /// <summary>A string scalar; null is not a string.</summary>
    public string? String(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } value } && !IsNull(node))
        {
            return value;
        }

        Error(node, path, $"expected a string, found {Describe(node)}");
        return null;
    }

    /// <summary>A TCP port, 1–65535.</summary>
    public int? Port(YamlNode node, string path) => Int(node, path, 1, 65535);

    /// <summary>A plain (unquoted) whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public int? Int(YamlNode node, string path, int min, int max)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text }
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            if (value >= min && value <= max)
            {
                return value;
            }

            Error(node, path, $"{value} is out of range ({min}–{max})");
            return null;
        }

        Error(node, path, $"expected a whole number from {min} to {max}, found {Describe(node)}");
        return null;
    }

    /// <summary>A plain <c>true</c> or <c>false</c>; YAML 1.1's yes/no/on/off are refused as ambiguous.</summary>
    public bool? Bool(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } scalar)
        {
            return scalar.Value == "true";
        }

        Error(node, path, $"expected true or false, found {Describe(node)}");
        return null;
    }

    /// <summary>One of the names in <paramref name="values"/>.</summary>
    public T? Enum<T>(YamlNode node, string path, Dictionary<string, T> values)
        where T : struct, System.Enum
    {
        if (node is YamlScalarNode { Value: { } text } && values.TryGetValue(text, out var value))
        {
            return value;
        }

        Error(node, path, $"expected one of {string.Join(", ", values.Keys)}, found {Describe(node)}");
        return null;
    }

    /// <summary>The key of <paramref name="keyPath"/> (mapping keys joined by '.') below <paramref name="root"/>, where an error about the whole entry points.</summary>
    /// <returns>The key node, or <see langword="null"/> when the path is not there.</returns>
    public static YamlNode? KeyNode(YamlNode root, string keyPath)
    {
        YamlNode? key = null;
        var node = root;
        foreach (var name in keyPath.Split('.'))
        {
            if (node is not YamlMappingNode map)
            {
                return null;
            }

            (key, node) = map.Children.FirstOrDefault(entry => entry.Key is YamlScalarNode { Value: var text } && text == name);
            if (key is null)
            {
                return null;
            }
        }

        return key;
    }

    /// <summary>Records a problem at <paramref name="node"/>'s line and column.</summary>
    public void Error(YamlNode node, string path, string message) => Error(node.Start, path, message);

    /// <summary>Records a problem at <paramref name="at"/>.</summary>
    public void Error(Mark at, string path, string message) =>
        Errors.Add(new ManifestError(source, (int)at.Line, (int)at.Column, path, message));

    /// <summary>Whether the node is YAML's null: nothing, <c>~</c> or <c>null</c>, unquoted.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>How an error names what it found instead.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "nothing (null)",
        YamlScalarNode { Value: var value } => $"'{value}'",
        _ => node.NodeType.ToString(),
    };
}

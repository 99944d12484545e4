namespace Cloister.RuntimeBundler;

/// <summary>A verb's <c>--name value</c> options: each known name at most once, nothing else.</summary>
internal sealed class CommandLineOptions
{
    private readonly Dictionary<string, string> _values;

    private CommandLineOptions(Dictionary<string, string> values) => _values = values;

    /// <summary>Reads <c>--name value</c> pairs.</summary>
    /// <exception cref="UsageException">An unknown or repeated option, or one without a value.</exception>
    public static CommandLineOptions Parse(IReadOnlyList<string> arguments, params string[] names)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var index = 0; index < arguments.Count; index += 2)
        {
            var name = arguments[index];
            if (!names.Contains(name, StringComparer.Ordinal))
            {
                throw new UsageException($"unknown option '{name}'");
            }

            if (index + 1 == arguments.Count || arguments[index + 1].Length == 0)
            {
                throw new UsageException($"{name} needs a value");
            }

            if (!values.TryAdd(name, arguments[index + 1]))
            {
                throw new UsageException($"{name} is given twice");
            }
        }

        return new CommandLineOptions(values);
    }

    /// <exception cref="UsageException">The option is missing.</exception>
    public string Required(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new UsageException($"{name} is required");

    public string? Optional(string name) => _values.GetValueOrDefault(name);
}

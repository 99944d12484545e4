using Cloister.Testing;

namespace Cloister.Cli.Tests;

/// <summary>Runs the real CLI as a child process: <c>dotnet cloister.dll args…</c> from the test output directory.</summary>
internal static class CliRunner
{
    public static ProcessResult Run(params string[] args) => Run(environment: null, args);

    public static ProcessResult Run(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ExternalTool.Capture("dotnet", [Path.Combine(AppContext.BaseDirectory, "cloister.dll"), .. args], environment: environment);
}

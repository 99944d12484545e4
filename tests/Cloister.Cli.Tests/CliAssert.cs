using Cloister.Testing;

namespace Cloister.Cli.Tests;

/// <summary>What every refused input must look like from outside: its exit code and one line on stderr, no stack trace.</summary>
internal static class CliAssert
{
    public static void OneLineError(ProcessResult result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("cloister: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
    }
}

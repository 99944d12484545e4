using System.Diagnostics;
using System.Text;
using Cloister.Testing;

namespace Cloister.Cli.Tests;

/// <summary>Runs the real CLI as a child process: <c>dotnet cloister.dll args…</c> from the test output directory.</summary>
internal static class CliRunner
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    public static ProcessResult Run(params string[] args) => Run(environment: null, args);

    public static ProcessResult Run(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ExternalTool.Capture("dotnet", [Path.Combine(AppContext.BaseDirectory, "cloister.dll"), .. args], environment: environment);

    /// <summary>Runs the CLI with <paramref name="stdin"/> written to its standard input, then closed.</summary>
    public static ProcessResult RunWithInput(byte[] stdin, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (exitCode, stdout, stderr) = RunWithBinaryOutput(stdin, environment, args);
        return new ProcessResult(exitCode, Encoding.UTF8.GetString(stdout), stderr);
    }

    /// <summary>As <see cref="RunWithInput"/>, with stdout as the bytes the CLI wrote (a binary output).</summary>
    public static (int ExitCode, byte[] Stdout, string Stderr) RunWithBinaryOutput(byte[] stdin, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "cloister.dll"), .. args])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the CLI");
        using var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.BaseStream.Write(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The CLI may refuse before reading all of it (a value too large): its exit code and message are the result.
        }

        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"cloister {string.Join(' ', args)} did not finish within {s_timeout}");
        }

        copy.GetAwaiter().GetResult();
        return (process.ExitCode, stdout.ToArray(), stderr.GetAwaiter().GetResult());
    }
}

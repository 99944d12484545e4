using System.Diagnostics;

namespace Cloister.Testing;

/// <summary>The outcome of a finished child process.</summary>
internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the tools written by others that the tests are built on; a missing tool fails the test with how to install it.</summary>
internal static class ExternalTool
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A hang guard for a NativeAOT <c>dotnet publish</c>: a minute or two on a quiet machine, several while the test
    /// projects (which run in parallel) compile and publish beside it on two cores.
    /// </summary>
    public static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);

    /// <summary>The tool's path, or an exception that says which Debian package provides it.</summary>
    public static string Require(string command, string package)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{command}' is not installed, and the tests need it: run `bash .ci/install` as root (Debian package {package})");
    }

    /// <summary>Runs a program to completion and captures its output, whatever its exit code.</summary>
    public static ProcessResult Capture(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? s_timeout;
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {limit}");
        }

        return new ProcessResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Runs an installed tool to completion and returns its standard output; a non-zero exit throws with its standard error.</summary>
    public static string Run(string command, string package, params string[] args)
    {
        var result = Capture(Require(command, package), args);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException($"{command} {string.Join(' ', args)} exited with {result.ExitCode}: {result.Stderr}");
    }

    public static string Umoci(params string[] args) => Run("umoci", "umoci", args);

    // --insecure-policy: the tests copy only images they made, and a fresh machine may have no /etc/containers/policy.json.
    public static string Skopeo(params string[] args) => Run("skopeo", "skopeo", ["--insecure-policy", .. args]);
}

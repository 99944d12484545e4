using System.Diagnostics;

namespace Cloister.Testing;

/// <summary>Runs the tools written by others that the tests are built on; a missing tool fails the test with how to install it.</summary>
internal static class ExternalTool
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

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

    /// <summary>Runs a tool to completion and returns its standard output; a non-zero exit throws with its standard error.</summary>
    public static string Run(string command, string package, params string[] args)
    {
        var info = new ProcessStartInfo(Require(command, package))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', args)} did not finish within {s_timeout}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    public static string Umoci(params string[] args) => Run("umoci", "umoci", args);

    // --insecure-policy: the tests copy only images they made, and a fresh machine may have no /etc/containers/policy.json.
    public static string Skopeo(params string[] args) => Run("skopeo", "skopeo", ["--insecure-policy", .. args]);
}

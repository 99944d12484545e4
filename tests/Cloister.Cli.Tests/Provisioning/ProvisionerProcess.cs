using System.Diagnostics;
using System.Text.RegularExpressions;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// A real <c>cloister provisioner serve DIR --listen 127.0.0.1:0</c> child process: started, waited for until it
/// prints the line with its address, killed at the end (or with SIGKILL when a test says so).
/// </summary>
internal sealed partial class ProvisionerProcess : IDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(2);

    private readonly Process _process;

    private readonly List<string> _lines;

    private ProvisionerProcess(Process process, Uri url, List<string> lines)
    {
        _process = process;
        _lines = lines;
        Url = url;
    }

    /// <summary>The URL it listens on (with the port the system chose).</summary>
    public Uri Url { get; }

    public int Id => _process.Id;

    /// <summary>Starts a provisioner on <paramref name="directory"/> and waits until it listens.</summary>
    public static ProvisionerProcess Start(string directory, params string[] options)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "cloister.dll"), "provisioner", "serve", directory, "--listen", "127.0.0.1:0", .. options])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the provisioner");
        var lines = new List<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                listening.TrySetException(new InvalidOperationException($"the provisioner exited before listening:\n{string.Join('\n', lines)}"));
                return;
            }

            lock (lines)
            {
                lines.Add(line);
            }

            if (ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!listening.Task.Wait(s_startTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the provisioner did not listen within {s_startTimeout}:\n{string.Join('\n', lines)}");
        }

        return new ProvisionerProcess(process, listening.Task.Result, lines);
    }

    /// <summary>SIGKILL: no shutdown, no flush; what the database holds is what was committed.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code and everything it printed.</summary>
    public (int ExitCode, string Output) Terminate()
    {
        ExternalTool.Capture("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (!_process.WaitForExit(s_startTimeout))
        {
            throw new TimeoutException($"the provisioner did not stop within {s_startTimeout} of SIGTERM");
        }

        _process.WaitForExit();
        lock (_lines)
        {
            return (_process.ExitCode, string.Join('\n', _lines));
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (https://\S+)")]
    private static partial Regex ListeningLine();
}

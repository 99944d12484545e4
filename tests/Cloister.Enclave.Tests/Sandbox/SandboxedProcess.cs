using System.Diagnostics;
using Cloister.Build.Supervisor;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>A bubblewrap sandbox running in the background, for tests that must act while the supervisor runs.</summary>
internal sealed class SandboxedProcess : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private SandboxedProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <remarks>
    /// bubblewrap's <c>--die-with-parent</c> is PR_SET_PDEATHSIG, which fires when the <em>thread</em> that forked it ends;
    /// a thread-pool thread may retire while the sandbox runs. So a dedicated thread starts it and stays until it exits.
    /// </remarks>
    public static SandboxedProcess Start(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var started = new TaskCompletionSource<Process>();
        var parent = new Thread(() =>
        {
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
            }
            catch (Exception ex)
            {
                started.SetException(ex);
                return;
            }

            started.SetResult(process);
            process.WaitForExit();
        })
        { IsBackground = true, Name = "sandbox parent" };
        parent.Start();
        return new SandboxedProcess(started.Task.GetAwaiter().GetResult());
    }

    public async Task<ProcessResult> WaitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(s_timeout);
        return new ProcessResult(_process.ExitCode, await _stdout.WaitAsync(s_timeout), await _stderr.WaitAsync(s_timeout));
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the supervisor itself, as the host's pid namespace sees it: bubblewrap does not
    /// forward signals, so the supervisor is found among its descendants by its command line.
    /// </summary>
    public void SignalSupervisor(int signal)
    {
        var descendants = Descendants(_process.Id);
        var pid = descendants.Where(IsSupervisor).ToList() is [var only]
            ? only
            : throw new InvalidOperationException(
                $"no single supervisor among bubblewrap's descendants: {string.Join("; ", descendants.Select(CommandLine))}{(_process.HasExited ? $" (bubblewrap exited with {_process.ExitCode})" : "")}");
        var kill = ExternalTool.Capture("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid}: {kill}");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    // bubblewrap's own processes carry the command in their arguments too; the supervisor is the one the loader runs.
    private static bool IsSupervisor(int pid) => CommandLine(pid).StartsWith($"{SupervisorBundle.LoaderPath} ", StringComparison.Ordinal);

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && ParentOf(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }

        var found = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var pid))
        {
            foreach (var (child, parent) in parents)
            {
                if (parent == pid)
                {
                    found.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }

        return found;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            // The command name in parentheses may hold spaces; the fields after its closing parenthesis do not.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

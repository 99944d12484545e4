using System.Diagnostics;
using Cloister.Enclave.Host;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;

namespace Cloister.Enclave.Apps;

/// <summary>
/// Runs the app until it is done for good: starts it, pumps its output, reports <c>ready</c> when the readiness check
/// passes, restarts it as the manifest's policy says, forwards signals, and on a stop request gives it a grace period
/// before SIGKILL. The caller reports the final <c>exited</c>.
/// </summary>
internal sealed class AppSupervisor(
    AppLaunch launch,
    RestartPolicy policy,
    HostLink host,
    Func<Task, CancellationToken, Task<bool>> readiness,
    TimeSpan gracePeriod) : IDisposable
{
    /// <summary>How long a stopped app may take before it is killed.</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(10);

    // After the app exits, its output is delivered, but an orphan that inherited the pipes must not hold us longer.
    private static readonly TimeSpan s_outputDrainLimit = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private ChildProcess? _current;
    private int _stopSignal;

    /// <summary>Sends <paramref name="signal"/> to the running app, if there is one.</summary>
    public void Forward(int signal)
    {
        lock (_gate)
        {
            _current?.Signal(signal);
        }
    }

    /// <summary>Asks the app to stop with <paramref name="signal"/>; no restart follows, and SIGKILL after the grace period.</summary>
    public void Stop(int signal)
    {
        lock (_gate)
        {
            _stopSignal = signal;
            _current?.Signal(signal);
        }

        _stop.Cancel();
    }

    /// <summary>Runs the app to its final end.</summary>
    /// <exception cref="AppLaunchException">The app could not be started.</exception>
    public async Task<AppExit> RunAsync()
    {
        var backoff = new RestartBackoff(policy);
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var exit = await RunOnceAsync();
            if (_stop.IsCancellationRequested || backoff.Next(exit, Stopwatch.GetElapsedTime(started)) is not { } delay)
            {
                return exit;
            }

            await host.ReportAsync(new RestartingEvent(backoff.Restarts, exit.Code, exit.Signal, (int)delay.TotalMilliseconds));
            await host.LogAsync($"the app ended with {exit}; restart {backoff.Restarts} in {delay.TotalSeconds:0.###} s");
            try
            {
                await Task.Delay(delay, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return exit;
            }
        }
    }

    public void Dispose() => _stop.Dispose();

    private async Task<AppExit> RunOnceAsync()
    {
        ChildProcess child;
        lock (_gate)
        {
            child = ChildProcess.Start(launch);
            _current = child;
            if (_stopSignal != 0)
            {
                child.Signal(_stopSignal);
            }
        }

        using (child)
        {
            var credentials = launch.Credentials;
            await host.LogAsync($"started {launch.Executable} as pid {child.Pid}, uid {credentials.UserId} gid {credentials.GroupId} groups {string.Join(',', credentials.Groups)}, in {launch.WorkingDirectory}");
            var output = Task.WhenAll(
                AppOutput.PumpAsync(child.StandardOutput, host.MirrorsToConsole ? Console.OpenStandardOutput() : null, host.Logs, LogSource.Stdout),
                AppOutput.PumpAsync(child.StandardError, host.MirrorsToConsole ? Console.OpenStandardError() : null, host.Logs, LogSource.Stderr));
            using var readinessCancellation = new CancellationTokenSource();
            var ready = ReportReadyAsync(child.Exited, readinessCancellation.Token);

            var exit = await WaitForExitAsync(child);
            await readinessCancellation.CancelAsync();
            await ready;
            await Task.WhenAny(output, Task.Delay(s_outputDrainLimit));
            lock (_gate)
            {
                _current = null;
            }

            return exit;
        }
    }

    private async Task ReportReadyAsync(Task exited, CancellationToken cancellationToken)
    {
        try
        {
            if (await readiness(exited, cancellationToken))
            {
                await host.ReportAsync(new ReadyEvent(), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The app ended first; there is nothing to report ready.
        }
    }

    private async Task<AppExit> WaitForExitAsync(ChildProcess child)
    {
        var stopRequested = Task.Delay(Timeout.InfiniteTimeSpan, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        if (await Task.WhenAny(child.Exited, stopRequested) != child.Exited
            && await Task.WhenAny(child.Exited, Task.Delay(gracePeriod)) != child.Exited)
        {
            await host.LogAsync($"the app did not stop within {gracePeriod.TotalSeconds:0.###} s; killing it");
            child.Signal(ProcessInterop.SigKill);
        }

        return await child.Exited;
    }
}

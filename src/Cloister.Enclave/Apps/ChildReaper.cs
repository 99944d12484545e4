namespace Cloister.Enclave.Apps;

/// <summary>
/// The one place that waits for children. A dedicated thread blocks in <c>waitpid(-1)</c>, so it reaps the app and every
/// orphan handed to us (we are PID 1, or a child subreaper), and no zombie is left behind. Starting a process and
/// registering its pid happen under the same lock the reaper takes before looking a pid up, so an app that exits at
/// once is never mistaken for an orphan.
/// </summary>
internal sealed class ChildReaper
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<AppExit>> _tracked = [];
    private readonly AutoResetEvent _childStarted = new(initialState: false);
    private long _orphansReaped;

    public ChildReaper()
    {
        new Thread(Run) { IsBackground = true, Name = "child reaper" }.Start();
    }

    /// <summary>How many processes other than tracked ones were reaped: the app's orphans.</summary>
    public long OrphansReaped => Interlocked.Read(ref _orphansReaped);

    /// <summary>Runs <paramref name="start"/> (which returns the new child's pid) and tracks its exit.</summary>
    public (int Pid, Task<AppExit> Exited) Start(Func<int> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        lock (_gate)
        {
            var pid = start();
            var exited = new TaskCompletionSource<AppExit>(TaskCreationOptions.RunContinuationsAsynchronously);
            _tracked.Add(pid, exited);
            _childStarted.Set();
            return (pid, exited.Task);
        }
    }

    private void Run()
    {
        while (true)
        {
            if (ProcessInterop.WaitAnyChild() is not var (pid, status))
            {
                _childStarted.WaitOne();
                continue;
            }

            TaskCompletionSource<AppExit>? exited;
            lock (_gate)
            {
                _tracked.Remove(pid, out exited);
            }

            if (exited is null)
            {
                Interlocked.Increment(ref _orphansReaped);
            }
            else
            {
                exited.SetResult(AppExit.FromWaitStatus(status));
            }
        }
    }
}

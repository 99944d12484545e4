namespace Cloister.Enclave.Apps;

/// <summary>
/// The one place that waits for children. A dedicated thread blocks in <c>waitpid(-1)</c>, so it reaps the app and every
/// orphan handed to us (we are PID 1, or a child subreaper), and no zombie is left behind. Starting a process and
/// registering its pid happen under the same lock the reaper takes before looking a pid up, so an app that exits at
/// once is never mistaken for an orphan. Static, because <c>waitpid(-1)</c> is process-wide: a second reaper would
/// steal the first one's children.
/// </summary>
internal static class ChildReaper
{
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<int, TaskCompletionSource<AppExit>> s_tracked = [];
    private static readonly AutoResetEvent s_childStarted = new(initialState: false);
    private static Thread? s_thread;

    /// <summary>Runs <paramref name="start"/> (which returns the new child's pid) and tracks its exit.</summary>
    public static (int Pid, Task<AppExit> Exited) Start(Func<int> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        lock (s_gate)
        {
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "child reaper" };
                s_thread.Start();
            }

            var pid = start();
            var exited = new TaskCompletionSource<AppExit>(TaskCreationOptions.RunContinuationsAsynchronously);
            s_tracked.Add(pid, exited);
            s_childStarted.Set();
            return (pid, exited.Task);
        }
    }

    private static void Run()
    {
        while (true)
        {
            if (ProcessInterop.WaitAnyChild() is not var (pid, status))
            {
                s_childStarted.WaitOne();
                continue;
            }

            // An orphan's status is simply dropped: reaping it was the point.
            TaskCompletionSource<AppExit>? exited;
            lock (s_gate)
            {
                s_tracked.Remove(pid, out exited);
            }

            exited?.SetResult(AppExit.FromWaitStatus(status));
        }
    }
}

using System.Runtime.InteropServices;

namespace Cloister.Enclave.Apps;

internal static unsafe partial class ProcessInterop
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int Echild = 10;
    private const int Eintr = 4;
    private const int PrSetChildSubreaper = 36;
    private const int SigPipe = 13;

    /// <summary>
    /// .NET's own fork-and-exec (src/native/libs/System.Native/pal_process.c), the C routine behind <c>Process.Start</c>. We call
    /// it instead of forking from managed code: between fork and exec the child runs only async-signal-safe C (every signal
    /// blocked across the fork, handlers reset to default, dup2, setgroups/setgid/setuid, chdir, execve, and an exec failure's
    /// errno sent back through a close-on-exec pipe). A managed fork child would cross a GC transition on every P/Invoke
    /// and could wait forever for a suspension started by a thread that no longer exists. The signature is that of .NET 10's
    /// System.Native, which NativeAOT links statically from the same runtime pack as this code, so the two cannot drift
    /// apart at run time; it is private and changes between major versions, which the sandbox tests would show at once.
    /// </summary>
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_ForkAndExecProcess", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ForkAndExecProcess(
        string filename, byte** argv, byte** envp, string? cwd,
        int redirectStdin, int redirectStdout, int redirectStderr,
        int setCredentials, uint userId, uint groupId, uint* groups, int groupsLength,
        out int childPid, out int stdinFd, out int stdoutFd, out int stderrFd);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static partial nint SetSignalHandler(int signal, delegate* unmanaged<int, void> handler);

    /// <summary>
    /// Replaces SIG_IGN for SIGPIPE with a handler that does nothing. The .NET runtime ignores SIGPIPE, and an ignored
    /// signal stays ignored across fork and exec, where the app would inherit it (a producer in a pipeline that never
    /// dies of its closed reader). A caught signal is reset to SIG_DFL in the child like every other one, while our own
    /// writes to a closed pipe or socket still fail with EPIPE instead of killing us, as before. PosixSignalRegistration
    /// cannot do this: System.Native leaves a signal that is ignored at start-up ignored.
    /// </summary>
    public static void CatchBrokenPipe()
    {
        if (SetSignalHandler(SigPipe, &IgnoreSignal) == -1)
        {
            throw new IOException($"signal(SIGPIPE): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    // SIGPIPE is synchronous: it arrives on the thread whose write() failed, which is inside a P/Invoke (preemptive
    // mode), so entering this empty method is the same reverse transition any native callback makes, and it allocates nothing.
    [UnmanagedCallersOnly]
    private static void IgnoreSignal(int signal)
    {
    }

    /// <summary>Makes orphaned descendants ours to reap (PR_SET_CHILD_SUBREAPER), even when we are not PID 1.</summary>
    public static void BecomeSubreaper()
    {
        if (Prctl(PrSetChildSubreaper, 1, 0, 0, 0) != 0)
        {
            throw new IOException($"prctl(PR_SET_CHILD_SUBREAPER): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Blocks until any child ends; <see langword="null"/> when there is no child at all.</summary>
    public static (int Pid, int Status)? WaitAnyChild()
    {
        while (true)
        {
            var pid = WaitPid(-1, out var status, 0);
            if (pid > 0)
            {
                return (pid, status);
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Echild)
            {
                return null;
            }

            if (errno != Eintr)
            {
                throw new IOException($"waitpid: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
    }
}

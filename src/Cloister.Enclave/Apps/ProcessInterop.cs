using System.Runtime.InteropServices;

namespace Cloister.Enclave.Apps;

internal static unsafe partial class ProcessInterop
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int Echild = 10;
    private const int Eintr = 4;
    private const int PrSetChildSubreaper = 36;
    private const int SigStop = 19;
    private const int LastStandardSignal = 31;
    private const nint SigIgn = 1;

    // The handler that does nothing is libc's abs(3): pure, so harmless on any thread at any moment, and native. A managed
    // [UnmanagedCallersOnly] handler is not: entering it is a reverse P/Invoke, which NativeAOT fails fast on when the
    // signal interrupts a thread running managed code (only SIGPIPE, which arrives inside a failed write, never does).
    private static readonly Lazy<nint> s_noOpHandler = new(() => NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "abs"));

    // glibc's struct sigaction on 64-bit Linux: the handler (8 bytes), sa_mask (128), sa_flags (4, then 4 of padding),
    // sa_restorer (8).
    private const int SigactionSize = 152;

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

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static partial int Sigaction(int signal, byte* action, byte* oldAction);

    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static partial nint SetSignalHandler(int signal, nint handler);

    /// <summary>
    /// Replaces SIG_IGN, for every signal ignored now, with a handler that does nothing. An ignored signal stays ignored
    /// across fork and exec, where the app would inherit it: SIGPIPE, which the .NET runtime ignores (a producer in a
    /// pipeline that never dies of its closed reader), and whatever the supervisor's own parent ignored (nohup ignores
    /// SIGHUP, a shell's background job SIGINT and SIGQUIT), which System.Native leaves ignored and
    /// PosixSignalRegistration cannot change. A caught signal is reset to SIG_DFL in the child like every other one,
    /// while for us it stays as harmless as before: our writes to a closed pipe still fail with EPIPE.
    /// </summary>
    /// <exception cref="IOException">sigaction(2) or signal(2) failed.</exception>
    public static void CatchIgnoredSignals()
    {
        Span<byte> action = stackalloc byte[SigactionSize];
        for (var signal = 1; signal <= LastStandardSignal; signal++)
        {
            if (signal is SigKill or SigStop)
            {
                continue;
            }

            fixed (byte* old = action)
            {
                if (Sigaction(signal, null, old) != 0)
                {
                    throw new IOException($"sigaction({signal}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }

                // sa_handler is the struct's first member.
                if (*(nint*)old != SigIgn)
                {
                    continue;
                }
            }

            if (SetSignalHandler(signal, s_noOpHandler.Value) == -1)
            {
                throw new IOException($"signal({signal}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
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

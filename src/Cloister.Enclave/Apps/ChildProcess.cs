using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cloister.Enclave.Apps;

/// <summary>A started app: its pid, its stdout and stderr pipes, and its end.</summary>
internal sealed class ChildProcess : IDisposable
{
    private ChildProcess(int pid, Task<AppExit> exited, Stream standardOutput, Stream standardError)
    {
        Pid = pid;
        Exited = exited;
        StandardOutput = standardOutput;
        StandardError = standardError;
    }

    public int Pid { get; }

    public Task<AppExit> Exited { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    /// <summary>
    /// Starts <paramref name="launch"/> with stdout and stderr on pipes and stdin at end-of-file (as Docker does without
    /// <c>-i</c>: the enclave console is not the app's).
    /// </summary>
    public static unsafe ChildProcess Start(AppLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        using var argv = new NativeStringArray(launch.Arguments);
        using var envp = new NativeStringArray(launch.Environment);
        var groups = launch.Credentials.Groups.ToArray();
        int stdinFd = -1, stdoutFd = -1, stderrFd = -1;
        var (pid, exited) = ChildReaper.Start(() =>
        {
            fixed (uint* groupsPointer = groups)
            {
                var result = ProcessInterop.ForkAndExecProcess(
                    launch.Executable, argv.Pointer, envp.Pointer, launch.WorkingDirectory,
                    1, 1, 1,
                    1, launch.Credentials.UserId, launch.Credentials.GroupId, groupsPointer, groups.Length,
                    out var childPid, out stdinFd, out stdoutFd, out stderrFd);
                if (result != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new AppLaunchException(
                        $"starting {launch.Executable} as uid {launch.Credentials.UserId} gid {launch.Credentials.GroupId} in {launch.WorkingDirectory}: {Marshal.GetPInvokeErrorMessage(errno)}",
                        errno == 2 ? AppLaunchException.NotFound : AppLaunchException.CannotRun);
                }

                return childPid;
            }
        });

        new SafeFileHandle(stdinFd, ownsHandle: true).Dispose();
        return new ChildProcess(pid, exited, OpenPipe(stdoutFd), OpenPipe(stderrFd));
    }

    /// <summary>Sends <paramref name="signal"/>; a process that is already gone is not an error.</summary>
    public void Signal(int signal)
    {
        if (!Exited.IsCompleted)
        {
            _ = ProcessInterop.Kill(Pid, signal);
        }
    }

    public void Dispose()
    {
        StandardOutput.Dispose();
        StandardError.Dispose();
    }

    private static AnonymousPipeClientStream OpenPipe(int fd) =>
        new(PipeDirection.In, new SafePipeHandle(fd, ownsHandle: true));

    private sealed unsafe class NativeStringArray : IDisposable
    {
        public NativeStringArray(IReadOnlyList<string> strings)
        {
            Pointer = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(byte*));
            for (var i = 0; i < strings.Count; i++)
            {
                Pointer[i] = (byte*)Marshal.StringToCoTaskMemUTF8(strings[i]);
            }
        }

        public byte** Pointer { get; }

        public void Dispose()
        {
            for (var i = 0; Pointer[i] != null; i++)
            {
                Marshal.FreeCoTaskMem((nint)Pointer[i]);
            }

            NativeMemory.Free(Pointer);
        }
    }
}

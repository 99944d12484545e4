using Cloister.Build.Supervisor;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// Turns a root into a small but real image: the host's static busybox as <c>/bin/busybox</c> with applet links, its own
/// <c>/etc/passwd</c> and <c>/etc/group</c> (user <c>app</c> 1000, member of <c>audio</c> and <c>staff</c>), and <c>/home/app</c>.
/// </summary>
internal static class BusyboxImage
{
    public const string Path = "/bin:/usr/bin";

    private const string HostBusybox = "/usr/bin/busybox";

    private static readonly string[] s_applets =
        ["sh", "id", "pwd", "nc", "sleep", "echo", "cat", "env", "grep", "httpd", "wget", "touch", "kill", "mkdir", "cut"];

    public static Rootfs AddTo(Rootfs rootfs)
    {
        var busybox = File.Exists(HostBusybox) ? HostBusybox : ExternalTool.Require("busybox", "busybox-static");
        if (ElfLinkInfo.Read(busybox).Interpreter is { } interpreter)
        {
            throw new InvalidOperationException($"{busybox} is dynamically linked (interpreter {interpreter}); the image needs busybox-static: run `bash .ci/install`");
        }

        Directory.CreateDirectory(rootfs.At("bin"));
        File.Copy(busybox, rootfs.At("bin/busybox"));
        foreach (var applet in s_applets)
        {
            File.CreateSymbolicLink(rootfs.At($"bin/{applet}"), "busybox");
        }

        Directory.CreateDirectory(rootfs.At("etc"));
        File.WriteAllText(rootfs.At("etc/passwd"), """
            root:x:0:0:root:/root:/bin/sh
            # a comment line, as real images have
            app:x:1000:1000:the app:/home/app:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false

            """.Replace("            ", "", StringComparison.Ordinal));
        File.WriteAllText(rootfs.At("etc/group"), """
            root:x:0:
            audio:x:29:app,other
            staff:x:50:app
            app:x:1000:
            nogroup:x:65534:

            """.Replace("            ", "", StringComparison.Ordinal));
        // A temporary directory is private (0700); an image's root and /tmp are not, and the app may run as another user.
        const UnixFileMode Public = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(rootfs.Path, Public);
        File.SetUnixFileMode(rootfs.At("tmp"), Public | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit);
        Directory.CreateDirectory(rootfs.At("home/app"));
        ExternalTool.Run("chown", "coreutils", "1000:1000", rootfs.At("home/app"));
        return rootfs;
    }
}

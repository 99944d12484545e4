namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// Turns a root into a minimal Alpine-shaped musl image: musl's libc as <c>/lib/ld-musl-x86_64.so.1</c> with Alpine's
/// <c>libc.musl-x86_64.so.1</c> link, and one dynamically linked musl program, built here with musl-gcc.
/// </summary>
internal static class MuslImage
{
    private const string MuslLibc = "/usr/lib/x86_64-linux-musl/libc.so";
    private const string Loader = "ld-musl-x86_64.so.1";

    public static void AddTo(Rootfs rootfs)
    {
        var muslGcc = ProcessRunner.RequireTool("musl-gcc", "musl-tools");
        Directory.CreateDirectory(rootfs.At("lib"));
        Directory.CreateDirectory(rootfs.At("bin"));
        File.Copy(MuslLibc, rootfs.At($"lib/{Loader}"));
        File.CreateSymbolicLink(rootfs.At("lib/libc.musl-x86_64.so.1"), Loader);

        var source = rootfs.At("tmp/hello.c");
        File.WriteAllText(source, "#include <stdio.h>\nint main(void) { puts(\"hello from musl\"); return 0; }\n");
        var compile = ProcessRunner.Run(muslGcc, ["-o", rootfs.At("bin/hello"), source]);
        File.Delete(source);
        if (compile.ExitCode != 0)
        {
            throw new InvalidOperationException($"musl-gcc failed:\n{compile}");
        }
    }
}

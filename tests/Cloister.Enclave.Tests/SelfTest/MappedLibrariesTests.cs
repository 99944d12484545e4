using Cloister.Enclave.SelfTest;

namespace Cloister.Enclave.Tests.SelfTest;

public sealed class MappedLibrariesTests
{
    [Fact]
    public void Keeps_distinct_shared_objects_sorted_and_drops_anonymous_and_executable_mappings()
    {
        string[] maps =
        [
            "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 100 /cloister/bin/cloister-enclave",
            "7f0000000000-7f0000001000 r-xp 00000000 08:01 200 /cloister/lib/libssl.so.3",
            "7f0000001000-7f0000002000 r--p 00001000 08:01 200 /cloister/lib/libssl.so.3",
            "7f0000002000-7f0000003000 r-xp 00000000 08:01 201 /cloister/lib/libc.so.6",
            "7f0000003000-7f0000004000 rw-p 00000000 00:00 0 ",
            "7f0000004000-7f0000005000 rw-p 00000000 00:00 0 [heap]",
            "7f0000005000-7f0000006000 r-xp 00000000 08:01 202 /opt/with space/libz.so",
            "7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]",
        ];

        Assert.Equal(
            ["/cloister/lib/libc.so.6", "/cloister/lib/libssl.so.3", "/opt/with space/libz.so"],
            MappedLibraries.Parse(maps));
    }

    [Fact]
    public void This_process_maps_libc()
    {
        Assert.Contains(MappedLibraries.Read(), path => Path.GetFileName(path) == "libc.so.6");
    }
}
